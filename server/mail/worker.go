package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/mailmessage"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// Defaults of Worker.
const (
	defaultLease       = time.Minute
	defaultMaxAttempts = 10
	firstBackoff       = 30 * time.Second
	maxBackoff         = time.Hour
	batchSize          = 50
	maxErrorLen        = 500
)

// Worker sends what is due in the outbox. Any number of workers, in one
// process or several, may share a database: each row is claimed with a
// conditional UPDATE that only one of them wins, and is held for Lease.
// Delivery is at least once per lease: a worker that dies after sending but
// before recording it leaves the claim to expire, and another worker then
// sends the message again (with the same Message-ID, so that receivers can
// drop the copy). Nothing is lost and, while workers live, nothing is sent
// twice. A Lease must comfortably exceed one send; each send is cut off
// when its lease ends.
type Worker struct {
	// Client is the portal's Ent client; the worker acts as the system.
	Client *ent.Client
	// Sender delivers the messages.
	Sender Sender
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Lease is how long a claim holds a row; default 1m.
	Lease time.Duration
	// MaxAttempts is how many failed sends abandon a row; default 10.
	MaxAttempts int
	// Backoff is the wait after the given number of failed sends; default
	// 30s doubling each time, at most 1h.
	Backoff func(attempt int) time.Duration
	// Logger receives failures and abandonments; slog.Default() when nil.
	Logger *slog.Logger
}

// SendDue sends up to one batch of due messages and reports how many were
// sent. Failed sends are recorded on their rows, not returned; the error
// is the store's or ctx's.
func (w *Worker) SendDue(ctx context.Context) (sent int, err error) {
	sent, _, err = w.sendDue(ctx)
	return sent, err
}

// Run calls SendDue every interval, and again at once after a full batch,
// until ctx is done; then it returns nil. Store errors are logged and
// retried at the next tick.
func (w *Worker) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("%w: worker interval %v", ErrBadConfig, every)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		sent, full, err := w.sendDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.logger().ErrorContext(ctx, "mail outbox", "err", err)
		}
		if err == nil && full && sent > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// sendDue also reports whether the batch was full, so that Run drains a
// backlog without waiting for the next tick.
func (w *Worker) sendDue(ctx context.Context) (sent int, full bool, err error) {
	if w.Client == nil || w.Sender == nil {
		return 0, false, fmt.Errorf("%w: worker needs a Client and a Sender", ErrBadConfig)
	}
	sys := access.SystemContext(ctx)
	due, err := w.Client.MailMessage.Query().
		Where(dueAt(w.now())...).
		Order(mailmessage.ByNextAttemptAt(), mailmessage.ByID()).
		Limit(batchSize).
		IDs(sys)
	if err != nil {
		return 0, false, fmt.Errorf("mail: listing due messages: %w", err)
	}
	for _, id := range due {
		if err := ctx.Err(); err != nil {
			return sent, false, err
		}
		ok, err := w.deliver(ctx, id)
		if ok {
			sent++
		}
		if err != nil {
			return sent, false, err
		}
	}
	return sent, len(due) == batchSize, nil
}

// dueAt matches unsent, unabandoned rows whose time has come and whose
// claim, if any, has expired.
func dueAt(now time.Time) []predicate.MailMessage {
	return []predicate.MailMessage{
		mailmessage.SentAtIsNil(),
		mailmessage.AbandonedAtIsNil(),
		mailmessage.NextAttemptAtLTE(now),
		mailmessage.Or(mailmessage.ClaimedUntilIsNil(), mailmessage.ClaimedUntilLT(now)),
	}
}

// claim takes row id for one lease if it is still due. Only one worker's
// UPDATE matches; the lease it wrote is its token for the outcome.
func (w *Worker) claim(ctx context.Context, id pulid.ID) (lease time.Time, ok bool, err error) {
	now := w.now()
	lease = now.Add(w.lease())
	n, err := w.Client.MailMessage.Update().
		Where(append(dueAt(now), mailmessage.IDEQ(id))...).
		SetClaimedUntil(lease).
		Save(access.SystemContext(ctx))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("mail: claiming %s: %w", id, err)
	}
	return lease, n == 1, nil
}

// deliver claims, sends and records one message. It reports whether this
// worker sent it.
func (w *Worker) deliver(ctx context.Context, id pulid.ID) (bool, error) {
	lease, ok, err := w.claim(ctx, id)
	if err != nil || !ok {
		return false, err // not ok: another worker has it, or it is done
	}
	// Read after claiming, so attempts are exact.
	row, err := w.Client.MailMessage.Get(access.SystemContext(ctx), id)
	if err != nil {
		w.release(ctx, id, lease)
		return false, fmt.Errorf("mail: reading %s: %w", id, err)
	}
	m := Message{To: row.Recipient, Subject: row.Subject, Text: row.TextBody}
	if err := checkContent(m.Subject, m.Text); err != nil {
		// Rows are written by Enqueue, but the guard holds for any row.
		return false, w.fail(ctx, row, lease, err, true)
	}

	sendCtx, cancel := context.WithTimeout(withKind(ctx, row.Kind), w.lease())
	err = w.Sender.Send(sendCtx, string(id), m)
	cancel()
	if err == nil {
		_, err := w.Client.MailMessage.Update().
			Where(mailmessage.IDEQ(id), mailmessage.SentAtIsNil()).
			SetSentAt(w.now()).
			ClearClaimedUntil().
			Save(recording(ctx))
		if err != nil {
			// Sent but not recorded: it goes again when the lease ends.
			return true, fmt.Errorf("mail: recording %s as sent: %w", id, err)
		}
		w.logger().DebugContext(ctx, "mail sent", "id", id, "kind", row.Kind)
		return true, nil
	}
	if ctx.Err() != nil {
		// Shutting down is not the message's fault.
		w.release(ctx, id, lease)
		return false, ctx.Err()
	}
	permanent := errors.Is(err, ErrBadRecipient) || errors.Is(err, ErrUnsafeContent)
	return false, w.fail(ctx, row, lease, err, permanent)
}

// fail records a failed send: it schedules a retry after the backoff, or
// abandons the row after MaxAttempts or a permanent failure. It changes
// the row only while this worker's claim holds.
func (w *Worker) fail(ctx context.Context, row *ent.MailMessage, lease time.Time, sendErr error, permanent bool) error {
	now := w.now()
	attempts := row.Attempts + 1
	reason := describe(sendErr, row.Recipient)
	upd := w.Client.MailMessage.Update().
		Where(mailmessage.IDEQ(row.ID), mailmessage.ClaimedUntilEQ(lease), mailmessage.SentAtIsNil()).
		SetAttempts(attempts).
		SetLastError(reason).
		ClearClaimedUntil()
	abandon := permanent || attempts >= w.maxAttempts()
	if abandon {
		upd.SetAbandonedAt(now)
	} else {
		upd.SetNextAttemptAt(now.Add(w.backoff(attempts)))
	}
	n, err := upd.Save(recording(ctx))
	if err != nil {
		return fmt.Errorf("mail: recording failure of %s: %w", row.ID, err)
	}
	log := w.logger()
	switch {
	case n == 0:
		log.WarnContext(ctx, "mail send failed after its claim expired", "id", row.ID, "kind", row.Kind, "err", reason)
	case abandon:
		log.ErrorContext(ctx, "mail abandoned", "id", row.ID, "kind", row.Kind, "attempts", attempts, "err", reason)
	default:
		log.WarnContext(ctx, "mail send failed", "id", row.ID, "kind", row.Kind, "attempts", attempts, "err", reason)
	}
	return nil
}

// release gives up this worker's claim without counting an attempt.
func (w *Worker) release(ctx context.Context, id pulid.ID, lease time.Time) {
	err := w.Client.MailMessage.Update().
		Where(mailmessage.IDEQ(id), mailmessage.ClaimedUntilEQ(lease)).
		ClearClaimedUntil().
		Exec(recording(ctx))
	if err != nil {
		// The claim expires on its own.
		w.logger().WarnContext(ctx, "mail claim not released", "id", id, "err", err)
	}
}

// recording is the context for recording an outcome: the system's, and not
// cancelled with ctx, so that what happened is written even during shutdown.
func recording(ctx context.Context) context.Context {
	return access.SystemContext(context.WithoutCancel(ctx))
}

// address matches anything shaped like an email address, which relays like
// to quote back in their errors.
var address = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+`)

// describe turns a send error into text fit for the row and the log: no
// address, and short.
func describe(err error, recipient string) string {
	s := err.Error()
	if recipient != "" {
		s = strings.ReplaceAll(s, recipient, "[address]")
	}
	s = address.ReplaceAllString(s, "[address]")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// DefaultBackoff is the wait after a failed send when Worker.Backoff is nil:
// 30s after the first failure, doubling, at most an hour.
func DefaultBackoff(attempt int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// now is the clock in UTC to the microsecond: what both engines store, so
// a lease read back compares equal to the one written.
func (w *Worker) now() time.Time {
	t := time.Now()
	if w.Now != nil {
		t = w.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return defaultLease
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return defaultMaxAttempts
}

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff != nil {
		return w.Backoff(attempt)
	}
	return DefaultBackoff(attempt)
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
