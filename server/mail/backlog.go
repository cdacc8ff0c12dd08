package mail

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/mailmessage"
)

// Backlog counts the messages waiting in the outbox: neither sent nor
// abandoned, due now or later. A backlog that keeps growing means the
// relay is refusing or the workers are not keeping up.
func Backlog(ctx context.Context, client *ent.Client) (int, error) {
	return client.MailMessage.Query().
		Where(mailmessage.SentAtIsNil(), mailmessage.AbandonedAtIsNil()).
		Count(access.SystemContext(ctx))
}
