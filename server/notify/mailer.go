package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/letterread"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/store"
)

// Digest is how long a DAILY account waits between two emails about the
// kinds that can wait.
const Digest = 24 * time.Hour

// batch bounds the work of one Dispatch step.
const batch = 100

// Viewers loads what an account may see without a session.
type Viewers interface {
	// ViewerForAccount returns the account's viewer, or nil when it is
	// missing or disabled.
	ViewerForAccount(ctx context.Context, id pulid.ID) (*access.Viewer, error)
}

// Mailer announces held results when their release time comes and turns
// notifications into emails in the mail outbox. Several servers may run
// one each on a shared database: every step claims its rows with a
// conditional update inside the transaction that enqueues the email, so
// a row is emailed once whoever claims it, and a crash before the commit
// leaves it to the next run.
type Mailer struct {
	// Client is the portal's Ent client; the mailer acts as the system.
	Client *ent.Client
	// Viewers decides what each recipient may still see.
	Viewers Viewers
	// PortalURL is the link the emails give; the portal's public address.
	PortalURL string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives failures; slog.Default() when nil.
	Logger *slog.Logger
}

// errClaimed means another mailer took some of the rows first.
var errClaimed = errors.New("notify: rows claimed elsewhere")

// Dispatch announces the results whose release time has come, then
// enqueues the emails that are due, and reports how many it enqueued.
func (m *Mailer) Dispatch(ctx context.Context) (int, error) {
	now := m.now()
	if err := m.releaseDue(ctx, now); err != nil {
		return 0, err
	}
	steps := []struct {
		due  predicate.Notification
		send func(context.Context, pulid.ID, time.Time) (int, error)
	}{
		{notification.EmailDueAtLTE(now), m.mailNotifications},
		{notification.ReminderDueAtLTE(now), m.mailReminders},
	}
	sent := 0
	for _, step := range steps {
		recipients, err := m.dueRecipients(ctx, step.due)
		if err != nil {
			return sent, err
		}
		for _, r := range recipients {
			n, err := step.send(ctx, r, now)
			if errors.Is(err, errClaimed) {
				continue
			}
			if err != nil {
				return sent, err
			}
			sent += n
		}
	}
	return sent, nil
}

// Run calls Dispatch every interval until ctx is done.
func (m *Mailer) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := m.Dispatch(ctx); err != nil && ctx.Err() == nil {
			m.logger().ErrorContext(ctx, "notification emails", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// dueRecipients lists accounts with notifications matching due.
func (m *Mailer) dueRecipients(ctx context.Context, due predicate.Notification) ([]pulid.ID, error) {
	found, err := m.Client.Notification.Query().Where(due).
		Limit(batch).Unique(true).
		Select(notification.FieldRecipientAccountID).
		Strings(access.SystemContext(ctx))
	ids := make([]pulid.ID, len(found))
	for i, s := range found {
		ids[i] = pulid.ID(s)
	}
	return ids, err
}

// releaseDue tells the readers of each result whose release time has come.
func (m *Mailer) releaseDue(ctx context.Context, now time.Time) error {
	sys := access.SystemContext(ctx)
	due, err := m.Client.Result.Query().
		Where(result.NotifyAtLTE(now)).
		Order(result.ByNotifyAt()).
		Limit(batch).
		All(sys)
	if err != nil {
		return err
	}
	for _, r := range due {
		err := store.InTx(sys, m.Client, func(tx *ent.Client) error {
			n, err := tx.Result.Update().Where(result.ID(r.ID), result.NotifyAtNotNil()).ClearNotifyAt().Save(sys)
			if err != nil || n == 0 {
				return err
			}
			return Record(sys, tx, Note{Kind: notification.KindRESULT_RELEASED, Patient: r.PatientID, Category: r.Category, Subject: &r.ID}, now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// mailNotifications emails one recipient what is due, as their preference
// says. What they may no longer see is passed over for good.
func (m *Mailer) mailNotifications(ctx context.Context, recipient pulid.ID, now time.Time) (int, error) {
	sys := access.SystemContext(ctx)
	due, err := m.Client.Notification.Query().
		Where(notification.RecipientAccountID(recipient), notification.EmailDueAtLTE(now)).
		Order(ent.Asc(notification.FieldID)).
		All(sys)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	acc, visible, err := m.visible(ctx, recipient, ids(due))
	if err != nil {
		return 0, err
	}
	var atOnce, later []*ent.Notification
	if acc != nil && acc.NotificationEmail != account.NotificationEmailOFF {
		for _, n := range due {
			switch {
			case !visible[n.ID]:
			case acc.NotificationEmail == account.NotificationEmailIMMEDIATE || !canWait(n.Kind):
				atOnce = append(atOnce, n)
			default:
				later = append(later, n)
			}
		}
	}
	digestDue := acc != nil && (acc.LastDigestAt == nil || !acc.LastDigestAt.Add(Digest).After(now))
	emails := 0
	err = store.InTx(sys, m.Client, func(tx *ent.Client) error {
		// Postponed rows wait for the next digest; all others are done.
		held := map[pulid.ID]bool{}
		if !digestDue {
			for _, n := range later {
				held[n.ID] = true
			}
		}
		var done []pulid.ID
		for _, n := range due {
			if !held[n.ID] {
				done = append(done, n.ID)
			}
		}
		claimed, err := tx.Notification.Update().
			Where(notification.IDIn(done...), notification.EmailDueAtLTE(now)).
			ClearEmailDueAt().Save(sys)
		if err != nil {
			return err
		}
		if claimed != len(done) {
			return errClaimed
		}
		if len(held) > 0 {
			next := acc.LastDigestAt.Add(Digest)
			if err := tx.Notification.Update().Where(notification.IDIn(keys(held)...)).SetEmailDueAt(next).Exec(sys); err != nil {
				return err
			}
		}
		var emailed []pulid.ID
		if len(atOnce) > 0 {
			if err := mail.Enqueue(sys, tx, "notification", newsEmail(acc, m.PortalURL, atOnce)); err != nil {
				return err
			}
			emails++
			emailed = append(emailed, ids(atOnce)...)
		}
		if digestDue && len(later) > 0 {
			if err := mail.Enqueue(sys, tx, "notification-digest", digestEmail(acc, m.PortalURL, later)); err != nil {
				return err
			}
			emails++
			emailed = append(emailed, ids(later)...)
			if err := tx.Account.UpdateOneID(acc.ID).SetLastDigestAt(now).Exec(sys); err != nil {
				return err
			}
		}
		if len(emailed) == 0 {
			return nil
		}
		return MarkEmailed(ctx, tx, now, emailed...)
	})
	return emails, err
}

// mailReminders sends one recipient one reminder about the letters that
// arrived before this morning and that they have still not opened.
func (m *Mailer) mailReminders(ctx context.Context, recipient pulid.ID, now time.Time) (int, error) {
	sys := access.SystemContext(ctx)
	due, err := m.Client.Notification.Query().
		Where(notification.RecipientAccountID(recipient), notification.ReminderDueAtLTE(now)).
		All(sys)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	acc, visible, err := m.visible(ctx, recipient, ids(due))
	if err != nil {
		return 0, err
	}
	unread := 0
	if acc != nil && acc.NotificationEmail != account.NotificationEmailOFF {
		for _, n := range due {
			if !visible[n.ID] || n.SubjectID == nil {
				continue
			}
			read, err := m.Client.LetterRead.Query().
				Where(letterread.LetterID(*n.SubjectID), letterread.AccountID(recipient)).
				Exist(sys)
			if err != nil {
				return 0, err
			}
			if !read {
				unread++
			}
		}
	}
	err = store.InTx(sys, m.Client, func(tx *ent.Client) error {
		claimed, err := tx.Notification.Update().
			Where(notification.IDIn(ids(due)...), notification.ReminderDueAtLTE(now)).
			ClearReminderDueAt().Save(sys)
		if err != nil {
			return err
		}
		if claimed != len(due) {
			return errClaimed
		}
		if unread == 0 {
			return nil
		}
		return mail.Enqueue(sys, tx, "letter-reminder", reminderEmail(acc, m.PortalURL, unread))
	})
	if err != nil || unread == 0 {
		return 0, err
	}
	return 1, nil
}

// visible returns the recipient's account and which of ids they may see
// now, read through the notification policy as them.
func (m *Mailer) visible(ctx context.Context, recipient pulid.ID, ids []pulid.ID) (*ent.Account, map[pulid.ID]bool, error) {
	v, err := m.Viewers.ViewerForAccount(ctx, recipient)
	if err != nil || v == nil {
		return nil, nil, err
	}
	acc, err := m.Client.Account.Query().Where(account.ID(recipient)).WithPatient().Only(access.SystemContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	shown, err := m.Client.Notification.Query().Where(notification.IDIn(ids...)).IDs(access.NewContext(ctx, v))
	if err != nil {
		return nil, nil, err
	}
	visible := make(map[pulid.ID]bool, len(shown))
	for _, id := range shown {
		visible[id] = true
	}
	return acc, visible, nil
}

// canWait reports whether a DAILY account gets this kind in its digest
// rather than at once. Sharing changes, letters, appointments and
// emergency access are told at once.
func canWait(k notification.Kind) bool {
	switch k {
	case notification.KindRESULT_RELEASED, notification.KindCARE_RESOURCE_ASSIGNED:
		return true
	}
	return false
}

func (m *Mailer) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Mailer) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

func ids(ns []*ent.Notification) []pulid.ID {
	out := make([]pulid.ID, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func keys(m map[pulid.ID]bool) []pulid.ID {
	out := make([]pulid.ID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
