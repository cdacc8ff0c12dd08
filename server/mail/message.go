package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
)

// ErrUnsafeContent reports a subject or body that must not be emailed: it
// holds an internal ID, or the subject is not a single line of text.
var ErrUnsafeContent = errors.New("mail: unsafe content")

// ErrBadRecipient reports a recipient that is not an email address.
var ErrBadRecipient = errors.New("mail: bad recipient")

// Message is one plain-text email to one recipient.
type Message struct {
	To, Subject, Text string
}

// Sender delivers one message. id is the outbox row's ID: it names the
// message (its Message-ID header, so that a receiver can drop a retried
// copy) and never appears in the body.
type Sender interface {
	Send(ctx context.Context, id string, m Message) error
}

// internalID has the shape of a pulid (two-letter prefix and a ULID).
var internalID = regexp.MustCompile(`\b[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}\b`)

// maxRecipientLen is the longest address SMTP allows, and the column's limit.
const maxRecipientLen = 254

// Enqueue adds m to the outbox, to be sent by a Worker. client is the client
// of the caller's transaction (tx.Client()), so that the email is committed
// with the change it reports. It refuses a recipient that is not an address
// (ErrBadRecipient) and a subject or body holding an internal ID
// (ErrUnsafeContent). It cannot recognise clinical content: callers must
// never put any in m. kind names what the email is about (e.g. INVITATION)
// for logs.
func Enqueue(ctx context.Context, client *ent.Client, kind string, m Message) error {
	to, err := recipient(m.To)
	if err != nil {
		return err
	}
	if err := checkContent(m.Subject, m.Text); err != nil {
		return err
	}
	err = client.MailMessage.Create().
		SetRecipient(to).
		SetSubject(m.Subject).
		SetTextBody(m.Text).
		SetKind(kind).
		Exec(access.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("mail: enqueue %s: %w", kind, err)
	}
	return nil
}

// recipient returns the bare address in s. The error never repeats s.
func recipient(s string) (string, error) {
	addr, err := mail.ParseAddress(s)
	if err != nil || len(addr.Address) > maxRecipientLen {
		return "", ErrBadRecipient
	}
	return addr.Address, nil
}

// checkContent refuses internal IDs anywhere and a subject that could break
// out of its header line.
func checkContent(subject, text string) error {
	if internalID.MatchString(subject) || internalID.MatchString(text) {
		return fmt.Errorf("%w: contains an internal ID", ErrUnsafeContent)
	}
	if strings.ContainsFunc(subject, unicode.IsControl) {
		return fmt.Errorf("%w: subject has a control character", ErrUnsafeContent)
	}
	return nil
}

// kindKey carries a message's kind from the Worker to a Sender's log line;
// the kind is not part of Message because it is never sent.
type kindKey struct{}

func withKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey{}, kind)
}

func kindFrom(ctx context.Context) string {
	k, _ := ctx.Value(kindKey{}).(string)
	return k
}
