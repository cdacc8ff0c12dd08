package mail

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
)

func TestFailedSendIsRetriedAfterBackoff(t *testing.T) {
	client := openClient(t)
	outbox := enqueue(t, client, Message{To: "ada@example.org", Subject: "New message", Text: "You have a new message."})
	clk := newClock()
	sender := newRecorder(2)
	w := &Worker{Client: client, Sender: sender, Now: clk.Now, Logger: discardLogger()}
	id := string(outbox[0].ID)

	steps := []struct {
		name          string
		advance       time.Duration
		wantSent      int
		wantCalls     int
		wantAttempts  int
		wantDelivered bool
	}{
		{"first send fails and is recorded", 0, 0, 1, 1, false},
		{"nothing is sent before the first 30s backoff elapses", 29 * time.Second, 0, 1, 1, false},
		{"second send after 30s fails too", time.Second, 0, 2, 2, false},
		{"nothing is sent before the doubled 1m backoff elapses", time.Minute - time.Microsecond, 0, 2, 2, false},
		{"third send after 1m succeeds", time.Microsecond, 1, 3, 2, true},
		{"a sent message is never sent again", 24 * time.Hour, 0, 3, 2, true},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		sent, err := w.SendDue(t.Context())
		if err != nil || sent != s.wantSent {
			t.Fatalf("%s: SendDue = %d, %v; want %d, nil", s.name, sent, err, s.wantSent)
		}
		calls, delivered := sender.counts()
		if calls[id] != s.wantCalls {
			t.Errorf("%s: %d send calls, want %d", s.name, calls[id], s.wantCalls)
		}
		got := row(t, client, outbox[0])
		if got.Attempts != s.wantAttempts {
			t.Errorf("%s: attempts = %d, want %d", s.name, got.Attempts, s.wantAttempts)
		}
		if (got.SentAt != nil) != s.wantDelivered || (delivered[id] == 1) != s.wantDelivered || delivered[id] > 1 {
			t.Errorf("%s: sent_at %v, delivered %d times", s.name, got.SentAt, delivered[id])
		}
		if got.LastError == nil || strings.Contains(*got.LastError, "@") {
			t.Errorf("%s: last_error = %v, want the failure without the address", s.name, got.LastError)
		}
		if got.ClaimedUntil != nil {
			t.Errorf("%s: still claimed until %v", s.name, got.ClaimedUntil)
		}
	}
}

func TestMessageIsAbandonedAfterMaxAttempts(t *testing.T) {
	client := openClient(t)
	outbox := enqueue(t, client, Message{To: "ada@example.org", Subject: "New message", Text: "You have a new message."})
	clk := newClock()
	sender := newRecorder(1 << 30)
	logs := &logBuffer{}
	w := &Worker{
		Client: client, Sender: sender, Now: clk.Now, Logger: logs.logger(),
		MaxAttempts: 3,
		Backoff:     func(int) time.Duration { return time.Minute },
	}
	id := string(outbox[0].ID)

	steps := []struct {
		name          string
		advance       time.Duration
		wantCalls     int
		wantAbandoned bool
	}{
		{"first failure schedules a retry", 0, 1, false},
		{"second failure schedules a retry", time.Minute, 2, false},
		{"third failure abandons the message", time.Minute, 3, true},
		{"an abandoned message is never retried", 30 * 24 * time.Hour, 3, true},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if sent, err := w.SendDue(t.Context()); err != nil || sent != 0 {
			t.Fatalf("%s: SendDue = %d, %v; want 0, nil", s.name, sent, err)
		}
		calls, _ := sender.counts()
		if calls[id] != s.wantCalls {
			t.Errorf("%s: %d send calls, want %d", s.name, calls[id], s.wantCalls)
		}
		if got := row(t, client, outbox[0]); (got.AbandonedAt != nil) != s.wantAbandoned || got.SentAt != nil {
			t.Errorf("%s: abandoned_at %v, sent_at %v", s.name, got.AbandonedAt, got.SentAt)
		}
	}
	if got := row(t, client, outbox[0]); got.Attempts != 3 {
		t.Errorf("attempts = %d, want 3", got.Attempts)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, id) {
		t.Errorf("abandonment not logged as an error naming %s:\n%s", id, out)
	}
	if strings.Contains(out, "@") || strings.Contains(out, "You have a new message") {
		t.Errorf("log holds personal data:\n%s", out)
	}
}

func TestConcurrentWorkersSendEachMessageOnce(t *testing.T) {
	client := openClient(t)
	var ms []Message
	for range 20 {
		ms = append(ms, Message{To: "ada@example.org", Subject: "New message", Text: "You have a new message."})
	}
	outbox := enqueue(t, client, ms...)
	clk := newClock()
	sender := newRecorder(0)

	const workers = 2
	start := make(chan struct{})
	sent := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &Worker{Client: client, Sender: sender, Now: clk.Now, Logger: discardLogger()}
		wg.Go(func() {
			<-start
			sent[i], errs[i] = w.SendDue(t.Context())
		})
	}
	close(start)
	wg.Wait()

	total := 0
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		total += sent[i]
	}
	if total != len(outbox) {
		t.Errorf("workers report %d sent (%v), want %d", total, sent, len(outbox))
	}
	_, delivered := sender.counts()
	for _, o := range outbox {
		if n := delivered[string(o.ID)]; n != 1 {
			t.Errorf("%s delivered %d times, want once", o.ID, n)
		}
		if got := row(t, client, o); got.SentAt == nil {
			t.Errorf("%s not marked sent", o.ID)
		}
	}
}

func TestClaimOfCrashedWorkerExpires(t *testing.T) {
	client := openClient(t)
	outbox := enqueue(t, client, Message{To: "ada@example.org", Subject: "New message", Text: "You have a new message."})
	clk := newClock()
	const lease = 2 * time.Minute
	crashed := &Worker{Client: client, Sender: newRecorder(0), Now: clk.Now, Lease: lease}
	if _, ok, err := crashed.claim(t.Context(), outbox[0].ID); err != nil || !ok {
		t.Fatalf("claim = %v, %v; want a claim", ok, err)
	}
	// The crashed worker never sends nor records anything.

	sender := newRecorder(0)
	w := &Worker{Client: client, Sender: sender, Now: clk.Now, Lease: lease, Logger: discardLogger()}
	id := string(outbox[0].ID)
	steps := []struct {
		name          string
		advance       time.Duration
		wantDelivered int
	}{
		{"another worker leaves a claimed message alone", 0, 0},
		{"and still does at the moment the lease ends", lease, 0},
		{"and sends it once the lease has expired", time.Microsecond, 1},
		{"and only once", time.Hour, 1},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if _, err := w.SendDue(t.Context()); err != nil {
			t.Fatalf("%s: SendDue: %v", s.name, err)
		}
		if _, delivered := sender.counts(); delivered[id] != s.wantDelivered {
			t.Errorf("%s: delivered %d times, want %d", s.name, delivered[id], s.wantDelivered)
		}
	}
	if got := row(t, client, outbox[0]); got.Attempts != 0 || got.SentAt == nil {
		t.Errorf("attempts %d, sent_at %v; a crash is not a failed attempt", got.Attempts, got.SentAt)
	}
}

func TestLateWorkerDoesNotOverwriteTheNextClaim(t *testing.T) {
	client := openClient(t)
	outbox := enqueue(t, client, Message{To: "ada@example.org", Subject: "New message", Text: "You have a new message."})
	clk := newClock()
	slow := &Worker{Client: client, Sender: newRecorder(0), Now: clk.Now, Logger: discardLogger()}
	slowLease, ok, err := slow.claim(t.Context(), outbox[0].ID)
	if err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	clk.Advance(2 * time.Minute)
	next := &Worker{Client: client, Sender: newRecorder(0), Now: clk.Now}
	nextLease, ok, err := next.claim(t.Context(), outbox[0].ID)
	if err != nil || !ok {
		t.Fatalf("second claim after expiry = %v, %v", ok, err)
	}
	// The slow worker's send finally fails; its claim is gone.
	if err := slow.fail(t.Context(), row(t, client, outbox[0]), slowLease, errRelay, false); err != nil {
		t.Fatal(err)
	}
	got := row(t, client, outbox[0])
	if got.Attempts != 0 || got.ClaimedUntil == nil || !got.ClaimedUntil.Equal(nextLease) {
		t.Errorf("attempts %d, claimed_until %v; want the second worker's claim %v untouched", got.Attempts, got.ClaimedUntil, nextLease)
	}
}

func TestUnsafeRowIsAbandonedWithoutSending(t *testing.T) {
	client := openClient(t)
	// Written past Enqueue's guard, as a buggy caller might.
	bad, err := client.MailMessage.Create().
		SetRecipient("ada@example.org").SetSubject("Result").SetKind("TEST").
		SetTextBody("See result rs01JD8W4ZQ6TBN3CZ1P5X2R7Q9M").
		Save(access.SystemContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	sender := newRecorder(0)
	w := &Worker{Client: client, Sender: sender, Now: newClock().Now, Logger: discardLogger()}
	if sent, err := w.SendDue(t.Context()); err != nil || sent != 0 {
		t.Fatalf("SendDue = %d, %v; want 0, nil", sent, err)
	}
	if calls, _ := sender.counts(); len(calls) != 0 {
		t.Errorf("sender was called: %v", calls)
	}
	if got := row(t, client, bad); got.AbandonedAt == nil {
		t.Errorf("unsafe row not abandoned")
	}
}

func TestRunSendsUntilCancelled(t *testing.T) {
	client := openClient(t)
	var ms []Message
	for range batchSize + 5 {
		ms = append(ms, Message{To: "ada@example.org", Subject: "New message", Text: "You have a new message."})
	}
	outbox := enqueue(t, client, ms...)
	sender := &notifier{recorder: newRecorder(0), sent: make(chan string, len(outbox))}
	w := &Worker{Client: client, Sender: sender, Now: newClock().Now, Logger: discardLogger()}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	// A long interval: the backlog beyond one batch must go without waiting.
	go func() { done <- w.Run(ctx, time.Hour) }()
	timeout := time.After(30 * time.Second)
	for range outbox {
		select {
		case <-sender.sent:
		case <-timeout:
			t.Fatal("Run did not send the whole backlog")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil once cancelled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, delivered := sender.counts(); len(delivered) != len(outbox) {
		t.Errorf("delivered %d distinct messages, want %d", len(delivered), len(outbox))
	}
}

// notifier reports each delivery on a channel.
type notifier struct {
	*recorder
	sent chan string
}

func (n *notifier) Send(ctx context.Context, id string, m Message) error {
	if err := n.recorder.Send(ctx, id, m); err != nil {
		return err
	}
	n.sent <- id
	return nil
}

func TestDefaultBackoffDoublesUpToAnHour(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, 30 * time.Second},
		{2, time.Minute},
		{3, 2 * time.Minute},
		{7, 32 * time.Minute},
		{8, time.Hour},
		{100, time.Hour},
	}
	for _, tt := range tests {
		if got := DefaultBackoff(tt.attempt); got != tt.want {
			t.Errorf("after %d failures wait %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestWorkerWithoutSenderIsAConfigurationError(t *testing.T) {
	w := &Worker{Client: openClient(t)}
	if _, err := w.SendDue(t.Context()); err == nil || !strings.Contains(err.Error(), "Sender") {
		t.Errorf("SendDue = %v, want a configuration error", err)
	}
}
