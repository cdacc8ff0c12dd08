// Package graph translates GraphQL into calls on the data layer and back.
// Resolvers stay a few lines each: who may see what is decided by the Ent
// privacy policies (package access), never here.
package graph

import (
	"context"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/category"
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
	// Resolve returns the viewer of a session token, or nil.
	Resolve(ctx context.Context, token string) (*access.Viewer, error)
	// ViewerForSession reloads the viewer of a live session, or nil once it
	// has ended: long-lived subscriptions re-check with it.
	ViewerForSession(ctx context.Context, id pulid.ID) (*access.Viewer, error)
	// SetNotificationEmail records when the viewer wants notification emails.
	SetNotificationEmail(ctx context.Context, pref account.NotificationEmail) error
	// AcceptInvitation accepts an invitation and starts a session.
	AcceptInvitation(ctx context.Context, in model.AcceptInvitationInput) (token string, account *ent.Account, err error)
}

// Sharing is the write side of sharing and privacy labels: shares,
// break-the-glass, specialty rules, relabelling and result release. Every
// decision it makes goes through package access.
type Sharing interface {
	// ShareRecord shares a record with a person (by invitation) or an organisation.
	ShareRecord(ctx context.Context, in model.ShareRecordInput) (*ent.Share, error)
	// UpdateShare changes a share's categories or expiry.
	UpdateShare(ctx context.Context, id pulid.ID, in model.UpdateShareInput) (*ent.Share, error)
	// RevokeShare ends a share at once.
	RevokeShare(ctx context.Context, id pulid.ID) (*ent.Share, error)
	// SetPatientSharing turns all sharing for a patient off or on.
	SetPatientSharing(ctx context.Context, patientID, organisationID pulid.ID, enabled bool) error
	// BreakGlass opens emergency access to a record.
	BreakGlass(ctx context.Context, in model.BreakGlassInput) (*model.BreakGlassPayload, error)
	// SetSpecialtyRule sets a rule and returns how many records it relabelled.
	SetSpecialtyRule(ctx context.Context, in model.SpecialtyRuleInput) (int, error)
	// SetIngestRules sets how an organisation's FHIR feed is taken in.
	SetIngestRules(ctx context.Context, in model.IngestRulesInput) (*model.IngestRules, error)
	// RelabelRecord lets the patient relabel one of their own entries.
	RelabelRecord(ctx context.Context, id pulid.ID, c category.Category) (ent.Noder, error)
	// ReleaseResult releases a held result.
	ReleaseResult(ctx context.Context, id pulid.ID) (*ent.Result, error)
	// ShareGrantee describes who a share is with.
	ShareGrantee(ctx context.Context, s *ent.Share) (*model.ShareGrantee, error)
	// ShareExplanation says which share gives access and what it covers.
	ShareExplanation(ctx context.Context, s *ent.Share) (string, error)
	// AuditActor names who acted in an audit event, and for which organisation.
	AuditActor(ctx context.Context, e *ent.AuditEvent) (name *string, org *model.Branding, err error)
}

// Clinical is the clinical record's write side and its derived reads:
// appointments, allergies, results, encounters, letters, demographics and
// patient search. Who may do what is decided by package access.
type Clinical interface {
	// DocumentURL implements the field of the same name.
	DocumentURL(ctx context.Context, obj *ent.Letter) (*string, error)
	// ReadByMe implements the field of the same name.
	ReadByMe(ctx context.Context, obj *ent.Letter) (bool, error)
	// CreateAppointment implements the field of the same name.
	CreateAppointment(ctx context.Context, input model.CreateAppointmentInput) (*ent.Appointment, error)
	// UpdateAppointment implements the field of the same name.
	UpdateAppointment(ctx context.Context, id pulid.ID, input model.UpdateAppointmentInput) (*ent.Appointment, error)
	// CancelAppointment implements the field of the same name.
	CancelAppointment(ctx context.Context, id pulid.ID, expectedUpdatedAt time.Time) (*ent.Appointment, error)
	// RequestAppointmentChange implements the field of the same name.
	RequestAppointmentChange(ctx context.Context, input model.RequestAppointmentChangeInput) (*ent.AppointmentChangeRequest, error)
	// AnswerAppointmentChange implements the field of the same name.
	AnswerAppointmentChange(ctx context.Context, input model.AnswerAppointmentChangeInput) (*ent.AppointmentChangeRequest, error)
	// RecordAllergy implements the field of the same name.
	RecordAllergy(ctx context.Context, input model.RecordAllergyInput) (*ent.Allergy, error)
	// UpdateAllergy implements the field of the same name.
	UpdateAllergy(ctx context.Context, id pulid.ID, input model.UpdateAllergyInput) (*ent.Allergy, error)
	// RemoveAllergy implements the field of the same name.
	RemoveAllergy(ctx context.Context, id pulid.ID) (bool, error)
	// AddResult implements the field of the same name.
	AddResult(ctx context.Context, input model.AddResultInput) (*ent.Result, error)
	// AmendResult implements the field of the same name.
	AmendResult(ctx context.Context, id pulid.ID, input model.AmendResultInput) (*ent.Result, error)
	// RecordEncounter implements the field of the same name.
	RecordEncounter(ctx context.Context, input model.RecordEncounterInput) (*ent.Encounter, error)
	// UpdateEncounter implements the field of the same name.
	UpdateEncounter(ctx context.Context, id pulid.ID, input model.UpdateEncounterInput) (*ent.Encounter, error)
	// SendLetter implements the field of the same name.
	SendLetter(ctx context.Context, input model.SendLetterInput) (*ent.Letter, error)
	// MarkLetterRead implements the field of the same name.
	MarkLetterRead(ctx context.Context, id pulid.ID) (*ent.Letter, error)
	// UpdateContactDetails implements the field of the same name.
	UpdateContactDetails(ctx context.Context, input model.UpdateContactDetailsInput) (*ent.Patient, error)
	// ComponentSeries implements the field of the same name.
	ComponentSeries(ctx context.Context, obj *ent.Patient, code string, from *time.Time, to *time.Time) ([]*model.ComponentPoint, error)
	// AllergyState implements the field of the same name.
	AllergyState(ctx context.Context, obj *ent.Patient) (model.AllergyRecordState, error)
	// Patients implements the field of the same name.
	Patients(ctx context.Context, after *entgql.Cursor[pulid.ID], first *int, before *entgql.Cursor[pulid.ID], last *int, where *model.PatientSearchInput) (*ent.PatientConnection, error)
}

// Tracking is what patients record themselves: symptoms, a journal,
// device readings at volume, and the care resources their team assigns.
// Who may do what is decided by package access.
type Tracking interface {
	// RecordSymptom implements the field of the same name.
	RecordSymptom(ctx context.Context, input model.RecordSymptomInput) (*ent.Symptom, error)
	// AddJournalEntry implements the field of the same name.
	AddJournalEntry(ctx context.Context, input model.AddJournalEntryInput) (*ent.JournalEntry, error)
	// UpdateJournalEntry implements the field of the same name.
	UpdateJournalEntry(ctx context.Context, id pulid.ID, input model.UpdateJournalEntryInput) (*ent.JournalEntry, error)
	// DeleteJournalEntry implements the field of the same name.
	DeleteJournalEntry(ctx context.Context, id pulid.ID) (bool, error)
	// RecordMeasurements implements the field of the same name.
	RecordMeasurements(ctx context.Context, input model.RecordMeasurementsInput) (*model.MeasurementReport, error)
	// SetGlucoseRange implements the field of the same name.
	SetGlucoseRange(ctx context.Context, patientID pulid.ID, low float64, high float64) (*ent.Patient, error)
	// AssignCareResource implements the field of the same name.
	AssignCareResource(ctx context.Context, input model.AssignCareResourceInput) (*ent.CareResource, error)
	// CompleteCareResource implements the field of the same name.
	CompleteCareResource(ctx context.Context, id pulid.ID) (*ent.CareResource, error)
	// SymptomSeries implements the field of the same name.
	SymptomSeries(ctx context.Context, obj *ent.Patient, name string, from *time.Time, to *time.Time) ([]*model.SymptomPoint, error)
	// MeasurementSeries implements the field of the same name.
	MeasurementSeries(ctx context.Context, obj *ent.Patient, typeArg measurement.Type, from time.Time, to time.Time, bucket model.SeriesBucket) (*model.MeasurementSeries, error)
}

// Reporting answers an organisation's analysts with aggregates only.
type Reporting interface {
	// Overview computes the figures of one organisation and period.
	Overview(ctx context.Context, org pulid.ID, period model.ReportingPeriodInput) (*model.ReportingOverview, error)
}

// Research runs studies: researchers define them and read their cohort's
// size; patients join and leave them.
type Research interface {
	// Studies lists the studies of the viewer's research organisations.
	Studies(ctx context.Context) ([]*ent.ResearchStudy, error)
	// PatientStudies lists the open studies a patient may join.
	PatientStudies(ctx context.Context, p *ent.Patient) ([]*model.PatientStudy, error)
	// CreateStudy defines a study.
	CreateStudy(ctx context.Context, in model.CreateResearchStudyInput) (*ent.ResearchStudy, error)
	// CloseStudy closes a study to new consents.
	CloseStudy(ctx context.Context, id pulid.ID) (*ent.ResearchStudy, error)
	// Consent records the patient joining a study.
	Consent(ctx context.Context, patientID, studyID pulid.ID, categories []category.Category) (*model.PatientStudy, error)
	// Withdraw records the patient leaving a study.
	Withdraw(ctx context.Context, patientID, studyID pulid.ID) (*model.PatientStudy, error)
	// CohortSize is the study's cohort size after disclosure control.
	CohortSize(ctx context.Context, s *ent.ResearchStudy) (*model.Figure, error)
	// ExportURL is where the study's researchers download its export.
	ExportURL(ctx context.Context, s *ent.ResearchStudy) (*string, error)
}

// Waker wakes a subscription when its account has something new, possibly
// written by another server.
type Waker interface {
	// Subscribe returns a channel of wake-ups for account until ctx is done.
	Subscribe(ctx context.Context, account string) (<-chan struct{}, error)
}

// Resolver is the root resolver; it carries the dependencies.
type Resolver struct {
	Client   *ent.Client
	Identity Identity
	Sharing  Sharing
	Clinical Clinical
	Tracking Tracking
	Reports  Reporting
	Research Research
	// FeedInterval is how often a subscription looks for new
	// notifications and re-checks its viewer; a second when zero.
	FeedInterval time.Duration
	// Waker, when set, makes a subscription look at once on a wake-up.
	Waker Waker
}

// NewSchema returns the executable schema over r.
func NewSchema(r *Resolver) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: r, Directives: DirectiveRoot{Sensitive: sensitive}})
}
