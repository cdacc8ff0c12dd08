package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/privacy"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/scalar"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/clinical"
	"github.com/patientportal/portal/server/sharing"
)

// The stable codes clients read from extensions.code.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeInternal        = "INTERNAL_SERVER_ERROR"
	CodeAgeRestricted   = "AGE_RESTRICTED"
	CodeEmailInUse      = "EMAIL_IN_USE"
	CodeConflict        = "CONFLICT"
	CodeIdentityLevel   = "IDENTITY_LEVEL_TOO_LOW"
	// Requests refused before any GraphQL runs (GraphQL over HTTP).
	CodeBadRequest           = "BAD_REQUEST"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotAcceptable        = "NOT_ACCEPTABLE"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
)

// classify maps an error to a code and the message the client may read.
// This is the one place errors become codes; anything it does not know is
// internal, and its text never leaves the server.
func classify(err error) (code, message string) {
	var (
		validation *ent.ValidationError
		timeParse  *time.ParseError
		numError   *strconv.NumError
		corrupt    base64.CorruptInputError
		fields     *clinical.ValidationError
	)
	switch {
	case errors.Is(err, ErrBadRequest):
		return CodeBadRequest, requestMessage(err)
	case errors.Is(err, ErrUnsupportedMediaType):
		return CodeUnsupportedMediaType, requestMessage(err)
	case errors.Is(err, ErrNotAcceptable):
		return CodeNotAcceptable, requestMessage(err)
	case errors.Is(err, ErrMutationOverGET):
		return CodeMethodNotAllowed, requestMessage(err)
	case errors.Is(err, ErrBodyTooLarge):
		return CodePayloadTooLarge, requestMessage(err)
	case errors.Is(err, auth.ErrInvalidCredentials):
		return CodeUnauthenticated, auth.ErrInvalidCredentials.Error()
	case errors.Is(err, auth.ErrSignedOut), errors.Is(err, access.ErrNoViewer):
		return CodeUnauthenticated, "sign in to continue"
	case errors.Is(err, access.ErrIdentityLevelTooLow):
		return CodeIdentityLevel, "verify your identity with NHS login (P9) to see clinical data"
	case errors.Is(err, auth.ErrAgeRestricted):
		return CodeAgeRestricted, auth.ErrAgeRestricted.Error()
	case errors.Is(err, auth.ErrEmailInUse):
		return CodeEmailInUse, auth.ErrEmailInUse.Error()
	case errors.Is(err, auth.ErrAlreadyRegistered):
		return CodeConflict, auth.ErrAlreadyRegistered.Error()
	case errors.Is(err, auth.ErrInvitationInvalid):
		return CodeNotFound, auth.ErrInvitationInvalid.Error()
	case errors.Is(err, auth.ErrPatientNotFound):
		return CodeNotFound, auth.ErrPatientNotFound.Error()
	case errors.Is(err, auth.ErrDetailsMismatch):
		return CodeBadUserInput, auth.ErrDetailsMismatch.Error()
	case errors.Is(err, auth.ErrWeakPassword):
		return CodeBadUserInput, auth.ErrWeakPassword.Error()
	case errors.Is(err, auth.ErrInvalidInput):
		return CodeBadUserInput, err.Error()
	case errors.Is(err, sharing.ErrInvalidInput):
		return CodeBadUserInput, err.Error()
	case errors.Is(err, sharing.ErrNotFound):
		return CodeNotFound, "not found"
	case errors.Is(err, sharing.ErrSharingDisabled):
		return CodeForbidden, sharing.ErrSharingDisabled.Error()
	case errors.Is(err, sharing.ErrEmergencyAccessUnavailable):
		return CodeForbidden, sharing.ErrEmergencyAccessUnavailable.Error()
	case errors.Is(err, sharing.ErrNeverReleased):
		return CodeForbidden, sharing.ErrNeverReleased.Error()
	case errors.Is(err, access.ErrDenied), errors.Is(err, privacy.Deny):
		return CodeForbidden, "not allowed"
	case errors.As(err, &fields):
		return CodeBadUserInput, err.Error()
	case errors.Is(err, clinical.ErrConflict):
		return CodeConflict, clinical.ErrConflict.Error()
	case errors.Is(err, clinical.ErrNotFound):
		return CodeNotFound, "not found"
	case errors.Is(err, blob.ErrTooLarge):
		return CodeBadUserInput, "the document is larger than 10 MB"
	case errors.Is(err, graph.ErrBadInput):
		return CodeBadUserInput, err.Error()
	case errors.Is(err, scalar.ErrInvalidTime):
		return CodeBadUserInput, scalar.ErrInvalidTime.Error()
	case errors.Is(err, pulid.ErrMalformed):
		return CodeBadUserInput, "malformed ID"
	case errors.As(err, &validation):
		return CodeBadUserInput, fmt.Sprintf("invalid value for %s", validation.Name)
	case errors.As(err, &timeParse):
		return CodeBadUserInput, "invalid time: use RFC 3339"
	case errors.As(err, &numError), errors.As(err, &corrupt):
		return CodeBadUserInput, "invalid value"
	case ent.IsNotFound(err):
		return CodeNotFound, "not found"
	}
	return CodeInternal, "internal error"
}

// presentError is gqlgen's error presenter.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Err == nil {
		// gqlgen's own errors (parse, validation) already carry a code and
		// a message about the document, not about data.
		if _, ok := gqlErr.Extensions["code"]; ok {
			return gqlErr
		}
	}
	presented := graphql.DefaultErrorPresenter(ctx, err)
	code, message := classify(err)
	if code == CodeInternal {
		slog.ErrorContext(ctx, "internal error", "err", err, "path", presented.Path.String())
	}
	ext := map[string]any{"code": code}
	var fields *clinical.ValidationError
	if errors.As(err, &fields) {
		// Each bad field with its path in the input, so clients can show it.
		list := make([]map[string]string, len(fields.Fields))
		for i, f := range fields.Fields {
			list[i] = map[string]string{"path": f.Path, "message": f.Message}
		}
		ext["fields"] = list
	}
	return &gqlerror.Error{
		Message:    message,
		Path:       presented.Path,
		Locations:  presented.Locations,
		Extensions: ext,
	}
}

// recoverPanic turns a resolver panic into an internal error.
func recoverPanic(ctx context.Context, p any) error {
	slog.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p))
	return errors.New("internal error")
}
