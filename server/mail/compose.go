package mail

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// fallbackDomain names Message-IDs when From has no usable domain.
const fallbackDomain = "portal.invalid"

// compose renders m as a plain-text UTF-8 email. The Message-ID is built
// from id, so every retry of one outbox row carries the same one.
func compose(from, id string, m Message, date time.Time) (*gomail.Msg, error) {
	// id also names files and headers: only a well-formed ID may do that.
	if err := pulid.ID(id).Validate(); err != nil {
		return nil, fmt.Errorf("mail: message id: %w", err)
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("%w: From address", ErrBadConfig)
	}
	if err := msg.To(m.To); err != nil {
		return nil, ErrBadRecipient
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id + "@" + domainOf(from))
	msg.SetDateWithValue(date)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}

// domainOf returns the domain of the address in from.
func domainOf(from string) string {
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return fallbackDomain
	}
	_, domain, ok := strings.Cut(addr.Address, "@")
	if !ok || domain == "" {
		return fallbackDomain
	}
	return domain
}
