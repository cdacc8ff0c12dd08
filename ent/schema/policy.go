//go:build !entbootstrap

// The privacy policies live apart from the schemas: they import the
// generated ent/privacy, which cannot compile before the first generation
// (see ent/entc.go). Every rule is decided by package access.

package schema

import (
	"entgo.io/ent"

	"github.com/patientportal/portal/ent/access"
)

// Policy of the Account.
func (Account) Policy() ent.Policy { return access.AccountPolicy() }

// Policy of the Membership.
func (Membership) Policy() ent.Policy { return access.MembershipPolicy() }

// Policy of the Session.
func (Session) Policy() ent.Policy { return access.SessionPolicy() }

// Policy of the Organisation.
func (Organisation) Policy() ent.Policy { return access.ReferencePolicy() }

// Policy of the ResearchStudy.
func (ResearchStudy) Policy() ent.Policy { return access.ReferencePolicy() }

// Policy of the Patient.
func (Patient) Policy() ent.Policy { return access.PatientPolicy() }

// Policy of the PatientOrganisation.
func (PatientOrganisation) Policy() ent.Policy { return access.OwnerPolicy() }

// Policy of the Invitation.
func (Invitation) Policy() ent.Policy { return access.InvitationPolicy() }

// Policy of the ResearchConsent.
func (ResearchConsent) Policy() ent.Policy { return access.OwnerPolicy() }

// Policy of the AuditEvent.
func (AuditEvent) Policy() ent.Policy { return access.AuditPolicy() }

// Policy of the Share.
func (Share) Policy() ent.Policy { return access.SharePolicy() }

// Policy of the Notification.
func (Notification) Policy() ent.Policy { return access.NotificationPolicy() }

// Policy of the Appointment.
func (Appointment) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the Allergy.
func (Allergy) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the Result.
func (Result) Policy() ent.Policy { return access.ResultPolicy() }

// Policy of the ResultComponent.
func (ResultComponent) Policy() ent.Policy { return access.ResultComponentPolicy() }

// Policy of the Encounter.
func (Encounter) Policy() ent.Policy { return access.EncounterPolicy() }

// Policy of the Letter.
func (Letter) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the Measurement.
func (Measurement) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the Symptom.
func (Symptom) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the JournalEntry.
func (JournalEntry) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the CareResource.
func (CareResource) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the MailMessage.
func (MailMessage) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the EmailChange.
func (EmailChange) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the SignInThrottle.
func (SignInThrottle) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the OIDCLogin.
func (OIDCLogin) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the SpecialtyRule.
func (SpecialtyRule) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the BreakGlass.
func (BreakGlass) Policy() ent.Policy { return access.SystemPolicy() }

// Reads of a patient's record by anyone but the patient go to the access log.

// Interceptors of the Patient.
func (Patient) Interceptors() []ent.Interceptor { return logReads("Patient", "ID") }

// Interceptors of the Appointment.
func (Appointment) Interceptors() []ent.Interceptor { return logReads("Appointment", "PatientID") }

// Interceptors of the Allergy.
func (Allergy) Interceptors() []ent.Interceptor { return logReads("Allergy", "PatientID") }

// Interceptors of the Result.
func (Result) Interceptors() []ent.Interceptor { return logReads("Result", "PatientID") }

// Interceptors of the ResultComponent.
func (ResultComponent) Interceptors() []ent.Interceptor {
	return logReads("ResultComponent", "PatientID")
}

// Interceptors of the Encounter.
func (Encounter) Interceptors() []ent.Interceptor { return logReads("Encounter", "PatientID") }

// Interceptors of the Letter.
func (Letter) Interceptors() []ent.Interceptor { return logReads("Letter", "PatientID") }

// Interceptors of the Measurement.
func (Measurement) Interceptors() []ent.Interceptor { return logReads("Measurement", "PatientID") }

// Interceptors of the Symptom.
func (Symptom) Interceptors() []ent.Interceptor { return logReads("Symptom", "PatientID") }

// Interceptors of the JournalEntry.
func (JournalEntry) Interceptors() []ent.Interceptor { return logReads("JournalEntry", "PatientID") }

// Interceptors of the CareResource.
func (CareResource) Interceptors() []ent.Interceptor { return logReads("CareResource", "PatientID") }

func logReads(kind, field string) []ent.Interceptor {
	return []ent.Interceptor{access.LogReads(kind, field)}
}

// Policy of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Policy() ent.Policy { return access.RecordPolicy() }

// Policy of the LetterRead.
func (LetterRead) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the ContactPreference.
func (ContactPreference) Policy() ent.Policy { return access.ContactPolicy() }

// Interceptors of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Interceptors() []ent.Interceptor {
	return logReads("AppointmentChangeRequest", "PatientID")
}

// Policy of the MeasurementRollup: read as its readings are.
func (MeasurementRollup) Policy() ent.Policy { return access.RollupPolicy() }

// Policy of the APIKey.
func (APIKey) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the ImportReport.
func (ImportReport) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the DirectoryEntry.
func (DirectoryEntry) Policy() ent.Policy { return access.SystemPolicy() }

// Policy of the PatientActivity: written and summed by the service alone.
func (PatientActivity) Policy() ent.Policy { return access.SystemPolicy() }
