package mail

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/mailmessage"
	"github.com/patientportal/portal/server/store/storetest"
)

// clock is a settable clock for Worker.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts a second ahead of the wall clock, so that rows Enqueue
// has just stamped with the real time are already due.
func newClock() *clock { return &clock{t: time.Now().UTC().Add(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is a Sender that counts deliveries per outbox id and fails the
// first failFirst sends of each.
type recorder struct {
	mu        sync.Mutex
	failFirst int
	calls     map[string]int
	delivered map[string]int
	messages  map[string]Message
}

func newRecorder(failFirst int) *recorder {
	return &recorder{failFirst: failFirst, calls: map[string]int{}, delivered: map[string]int{}, messages: map[string]Message{}}
}

func (r *recorder) Send(_ context.Context, id string, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[id]++
	if r.calls[id] <= r.failFirst {
		return errRelay
	}
	r.delivered[id]++
	r.messages[id] = m
	return nil
}

func (r *recorder) counts() (calls, delivered map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls, delivered = map[string]int{}, map[string]int{}
	for k, v := range r.calls {
		calls[k] = v
	}
	for k, v := range r.delivered {
		delivered[k] = v
	}
	return calls, delivered
}

// errRelay is a failure that quotes the address back, as relays do.
var errRelay = &relayError{}

type relayError struct{}

func (*relayError) Error() string {
	return "450 4.2.0 <ada@example.org>: mailbox temporarily unavailable"
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openClient returns the Ent client of a fresh, migrated store.
func openClient(t *testing.T) *ent.Client {
	t.Helper()
	return storetest.Open(t).Client
}

// enqueue adds messages and returns their outbox rows in order.
func enqueue(t *testing.T, client *ent.Client, ms ...Message) []*ent.MailMessage {
	t.Helper()
	ctx := t.Context()
	for _, m := range ms {
		if err := Enqueue(ctx, client, "TEST", m); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	return rows(t, client)
}

// rows returns every outbox row, oldest first.
func rows(t *testing.T, client *ent.Client) []*ent.MailMessage {
	t.Helper()
	all, err := client.MailMessage.Query().
		Order(mailmessage.ByID()).
		All(access.SystemContext(t.Context()))
	if err != nil {
		t.Fatalf("reading the outbox: %v", err)
	}
	return all
}

// row returns one outbox row as it is now.
func row(t *testing.T, client *ent.Client, m *ent.MailMessage) *ent.MailMessage {
	t.Helper()
	r, err := client.MailMessage.Get(access.SystemContext(t.Context()), m.ID)
	if err != nil {
		t.Fatalf("reading %s: %v", m.ID, err)
	}
	return r
}

// parsed is a received email, decoded as a mail client would.
type parsed struct {
	From, To, Subject, MessageID, MediaType, Charset, Body string
}

// parseEmail decodes an RFC 5322 message with a single text part.
func parseEmail(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, raw)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		t.Fatalf("From: %v", err)
	}
	to, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		t.Fatalf("To: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	var body io.Reader = msg.Body
	switch enc := strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")); enc {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", enc)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return parsed{
		From:      from.Address,
		To:        to.Address,
		Subject:   subject,
		MessageID: msg.Header.Get("Message-ID"),
		MediaType: mediaType,
		Charset:   strings.ToLower(params["charset"]),
		Body:      strings.TrimRight(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n"),
	}
}
