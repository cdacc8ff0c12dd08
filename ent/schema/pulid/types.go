package pulid

// Types maps each ID prefix to the table of the entity it names. Every
// schema's IDMixin prefix must be listed here; the schema panics otherwise.
var Types = map[string]string{
	"ac": "accounts",
	"ae": "audit_events",
	"al": "allergies",
	"ap": "appointments",
	"ar": "appointment_change_requests",
	"bg": "break_glasses",
	"cn": "research_consents",
	"co": "result_components",
	"cp": "contact_preferences",
	"cr": "care_resources",
	"ec": "email_changes",
	"en": "encounters",
	"iv": "invitations",
	"jo": "journal_entries",
	"lr": "letter_reads",
	"lt": "letters",
	"mb": "memberships",
	"me": "measurements",
	"ml": "mail_messages",
	"mr": "measurement_rollups",
	"no": "notifications",
	"og": "organisations",
	"pa": "patient_activities",
	"ol": "oidc_logins",
	"pt": "patients",
	"rs": "results",
	"sh": "shares",
	"sr": "specialty_rules",
	"ss": "sessions",
	"st": "research_studies",
	"sy": "symptoms",
	"th": "sign_in_throttles",
	"ak": "api_keys",
	"ir": "import_reports",
	"de": "directory_entries",
}

// TableOf returns the table of the entity a well-formed ID names.
func TableOf(id ID) (string, error) {
	if err := id.Validate(); err != nil {
		return "", err
	}
	table, ok := Types[id.Prefix()]
	if !ok {
		return "", ErrMalformed
	}
	return table, nil
}
