package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
	"github.com/patientportal/portal/server/observe"
	"github.com/patientportal/portal/server/sharing"
	"github.com/patientportal/portal/server/store"
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

	// Limits (see limits.go, ratelimit.go and apq.go). A document over
	// any limit of its shape is QUERY_LIMIT_EXCEEDED, with
	// extensions.limit naming it (depth, complexity, aliases, operations)
	// and extensions.max its value.
	CodeQueryLimit             = "QUERY_LIMIT_EXCEEDED"
	CodeIntrospectionDisabled  = "INTROSPECTION_DISABLED"
	CodeRequestTooLarge        = "REQUEST_TOO_LARGE"
	CodeRateLimited            = "RATE_LIMITED"
	CodeTimeout                = "TIMEOUT"
	CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
	CodeOperationNotAllowed    = "OPERATION_NOT_ALLOWED"
	// CodeUnavailable means the database could not be reached: try again
	// shortly; nothing was wrong with the request.
	CodeUnavailable = "UNAVAILABLE"
	// CodeCancelled means the client went away before the answer was
	// ready: no one reads it, and it is no fault of the server's.
	CodeCancelled = "CANCELLED"
	// Requests refused before any GraphQL runs (GraphQL over HTTP).
	CodeBadRequest           = "BAD_REQUEST"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotAcceptable        = "NOT_ACCEPTABLE"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
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
	var limit *LimitError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// The request's own deadline: the store wraps it as unavailable
		// too, but the client learns more from this.
		return CodeTimeout, "the request took too long"
	case errors.Is(err, context.Canceled):
		return CodeCancelled, "the request was cancelled"
	case errors.Is(err, store.ErrUnavailable):
		return CodeUnavailable, "the service is unavailable; try again shortly"
	case errors.As(err, &limit):
		return CodeQueryLimit, limit.Error()
	case errors.Is(err, ErrIntrospectionDisabled):
		return CodeIntrospectionDisabled, ErrIntrospectionDisabled.Error()
	case errors.Is(err, ErrBodyTooLarge):
		return CodeRequestTooLarge, fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)
	case errors.Is(err, ErrRateLimited):
		return CodeRateLimited, ErrRateLimited.Error()
	case errors.Is(err, ErrPersistedQueryNotFound):
		return CodePersistedQueryNotFound, ErrPersistedQueryNotFound.Error()
	case errors.Is(err, ErrPersistedQueryInvalid):
		return CodeBadUserInput, err.Error()
	case errors.Is(err, ErrOperationNotAllowed):
		return CodeOperationNotAllowed, ErrOperationNotAllowed.Error()
	case errors.Is(err, ErrBadRequest):
		return CodeBadRequest, requestMessage(err)
	case errors.Is(err, ErrUnsupportedMediaType):
		return CodeUnsupportedMediaType, requestMessage(err)
	case errors.Is(err, ErrNotAcceptable):
		return CodeNotAcceptable, requestMessage(err)
	case errors.Is(err, ErrMutationOverGET):
		return CodeMethodNotAllowed, requestMessage(err)
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
		// The rest of gqlgen's own are about reading the request; some
		// quote the whole body back, which stays out of the answer.
		message, _, _ := strings.Cut(gqlErr.Message, " body:")
		return &gqlerror.Error{Message: message, Locations: gqlErr.Locations, Extensions: map[string]any{"code": CodeBadRequest}}
	}
	presented := graphql.DefaultErrorPresenter(ctx, err)
	code, message := classify(err)
	if code == CodeInternal && ctx.Err() != nil {
		// A driver's error after the request's deadline, or after the
		// client went away, need not wrap the context's.
		code, message = classify(ctx.Err())
	}
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
	var limit *LimitError
	if errors.As(err, &limit) {
		ext["limit"], ext["max"] = limit.Limit, limit.Max
	}
	return &gqlerror.Error{
		Message:    message,
		Path:       presented.Path,
		Locations:  presented.Locations,
		Extensions: ext,
	}
}

// writeRefusal answers a request refused before GraphQL runs (too large,
// too many) with status and a GraphQL error body.
func writeRefusal(w http.ResponseWriter, status int, err error) {
	code, message := classify(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": code}}},
	})
}

// recoverPanic turns a resolver panic into an internal error.
func recoverPanic(ctx context.Context, p any) error {
	slog.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p))
	return errors.New("internal error")
}

// RequestErrorWriter answers a GraphQL request that failed before it could
// run (its viewer could not be resolved because the store is down) with a
// GraphQL error carrying the code classify gives. Under
// application/graphql-response+json the status says what happened (503 for
// UNAVAILABLE, as the GraphQL-over-HTTP spec lets a request error do);
// under application/json it is 200, as for any GraphQL error.
func RequestErrorWriter(m *observe.Metrics) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		code, message := classify(err)
		if code == CodeInternal {
			slog.ErrorContext(r.Context(), "internal error", "err", err)
		}
		if m != nil {
			m.CountError(r.Context(), code)
		}
		status, media := http.StatusOK, "application/json"
		if strings.Contains(r.Header.Get("Accept"), mediaGraphQLResponse) {
			media, status = mediaGraphQLResponse, http.StatusInternalServerError
			if code == CodeUnavailable {
				status = http.StatusServiceUnavailable
			}
		}
		if code == CodeUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", media)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{
			map[string]any{"message": message, "extensions": map[string]any{"code": code}},
		}})
	}
}
