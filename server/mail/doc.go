// Package mail sends the portal's emails through a transactional outbox.
// Enqueue writes a MailMessage row with the client of the caller's
// transaction, so an email is committed with the change that causes it or
// not at all; a Worker later sends due rows through a Sender: SMTP in
// production, .eml files in a folder during development.
//
// An email must never carry clinical content or an internal ID: it says that
// something happened and links to the portal, where the access rules apply.
// Enqueue refuses internal IDs (ErrUnsafeContent); keeping clinical detail
// out is the caller's duty, because no pattern can recognise it. Nothing in
// this package logs an address, a subject or a body, only outbox ids, kinds
// and counts.
//
// The server fills Config from these environment variables:
//
//	PORTAL_SMTP_HOST      SMTP relay host; when empty, mail goes to PORTAL_OUTBOX_DIR
//	PORTAL_SMTP_PORT      relay port; default 587 (starttls), 465 (tls) or 25 (none)
//	PORTAL_SMTP_SECURITY  starttls (default), tls (implicit TLS) or none
//	PORTAL_SMTP_USERNAME  authenticate as this user; no authentication when empty
//	PORTAL_SMTP_PASSWORD  password for PORTAL_SMTP_USERNAME
//	PORTAL_MAIL_FROM      From address patients see, e.g. "NHS Patient Portal <no-reply@portal.example.nhs.uk>"
//	PORTAL_OUTBOX_DIR     folder for .eml files when no relay is set; default "outbox"
package mail
