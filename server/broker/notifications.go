package broker

import (
	"context"
	"log/slog"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/hook"
)

// PublishNotifications makes every notification written through client
// wake its recipient's subscribers, once the write is committed: a
// notification of a rolled-back change is never announced.
func PublishNotifications(client *ent.Client, b Broker) {
	client.Notification.Use(hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.NotificationFunc(func(ctx context.Context, m *ent.NotificationMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			recipient, ok := m.RecipientAccountID()
			if err != nil || !ok {
				return v, err
			}
			publish := func() {
				if err := b.Publish(context.WithoutCancel(ctx), string(recipient)); err != nil {
					slog.WarnContext(ctx, "broker: publish failed; subscribers will see it at their next poll", "err", err)
				}
			}
			if tx, txErr := m.Tx(); txErr == nil {
				tx.OnCommit(func(commit ent.Committer) ent.Committer {
					return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
						if err := commit.Commit(ctx, tx); err != nil {
							return err
						}
						publish()
						return nil
					})
				})
				return v, nil
			}
			publish()
			return v, nil
		})
	}, ent.OpCreate))
}
