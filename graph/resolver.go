// Package graph translates GraphQL into calls on the data layer and back.
// Resolvers stay a few lines each: who may see what is decided by the Ent
// privacy policies (package access), never here.
package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// Identity signs people in and out, registers them and manages their
// accounts. The server implements it, so that the GraphQL layer never
// handles tokens, cookies or password hashes itself.
type Identity interface {
	// SignIn checks the credentials and starts a session.
	SignIn(ctx context.Context, email, password string) (token string, account *ent.Account, err error)
	// SignOut ends the session the request came with.
	SignOut(ctx context.Context) error
	// Sessions lists the viewer's live sessions.
	Sessions(ctx context.Context) ([]*ent.Session, error)
	// EndSession ends one of the viewer's sessions.
	EndSession(ctx context.Context, id pulid.ID) error
	// ChangePassword replaces the password and ends the other sessions.
	ChangePassword(ctx context.Context, current, next string) error
	// RequestEmailChange sends a confirmation link to a new address.
	RequestEmailChange(ctx context.Context, newEmail, password string) error
	// ConfirmEmailChange applies a confirmed change of address.
	ConfirmEmailChange(ctx context.Context, token string) error
	// InvitePatient invites one of an organisation's patients to register.
	InvitePatient(ctx context.Context, org pulid.ID, nhsNumber, dateOfBirth, email string) (*ent.Invitation, error)
	// InvitePatients invites the rows of a CSV, reporting on each.
	InvitePatients(ctx context.Context, org pulid.ID, csv string) (*model.BulkInvitationReport, error)
	// ResendInvitation sends a pending invitation again.
	ResendInvitation(ctx context.Context, id pulid.ID) (*ent.Invitation, error)
	// RevokeInvitation withdraws a pending invitation.
	RevokeInvitation(ctx context.Context, id pulid.ID) (*ent.Invitation, error)
	// PreviewInvitation describes a live invitation, or returns nil.
	PreviewInvitation(ctx context.Context, token string) (*model.InvitationPreview, error)
	// AcceptInvitation accepts an invitation and starts a session.
	AcceptInvitation(ctx context.Context, in model.AcceptInvitationInput) (token string, account *ent.Account, err error)
}

// Resolver is the root resolver; it carries the dependencies.
type Resolver struct {
	Client   *ent.Client
	Identity Identity
}

// NewSchema returns the executable schema over r.
func NewSchema(r *Resolver) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: r})
}
