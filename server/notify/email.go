package notify

import (
	"fmt"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/server/mail"
)

// The emails say only that something of a broad kind is new and where to
// read it. They never name a test, a service, a category, an organisation
// or the patient, since anyone who sees the inbox may read them.

// newsEmail tells of what should not wait.
func newsEmail(acc *ent.Account, portalURL string, ns []*ent.Notification) mail.Message {
	return mail.Message{
		To:      acc.Email,
		Subject: "There is something new in your patient portal",
		Text:    body("There is something new for you in the patient portal:", acc, portalURL, ns),
	}
}

// digestEmail gathers what could wait, at most once a day.
func digestEmail(acc *ent.Account, portalURL string, ns []*ent.Notification) mail.Message {
	return mail.Message{
		To:      acc.Email,
		Subject: "Your patient portal updates",
		Text:    body("Since we last wrote, there have been updates for you in the patient portal:", acc, portalURL, ns),
	}
}

// reminderEmail reminds of letters not yet opened.
func reminderEmail(acc *ent.Account, portalURL string, unread int) mail.Message {
	what := "a letter"
	if unread > 1 {
		what = fmt.Sprintf("%d letters", unread)
	}
	return mail.Message{
		To:      acc.Email,
		Subject: "You have a letter waiting in your patient portal",
		Text: "Hello,\n\nYou have " + what + " in the patient portal that you have not opened yet.\n\n" +
			"Sign in to read it: " + portalURL + "/\n\n" + footer,
	}
}

const footer = "You can choose whether and how often we email you in the portal's settings.\n"

// body lists how many of each broad kind there are, in a fixed order.
func body(intro string, acc *ent.Account, portalURL string, ns []*ent.Notification) string {
	counts := map[string]int{}
	shared := false
	for _, n := range ns {
		counts[topic(n.Kind)]++
		if !ownRecord(acc, n) {
			shared = true
		}
	}
	var b strings.Builder
	b.WriteString("Hello,\n\n" + intro + "\n\n")
	for _, t := range topics {
		if c := counts[t.name]; c > 0 {
			fmt.Fprintf(&b, "- %s\n", t.phrase(c))
		}
	}
	if shared {
		b.WriteString("\nSome of this is on a record that someone shares with you.\n")
	}
	b.WriteString("\nSign in to see it: " + portalURL + "/\n\n" + footer)
	return b.String()
}

// ownRecord reports whether n is about the recipient's own record.
func ownRecord(acc *ent.Account, n *ent.Notification) bool {
	return acc.Edges.Patient != nil && acc.Edges.Patient.ID == n.PatientID
}

// topicPhrase words one broad kind: once, and as a count (%d).
type topicPhrase struct{ name, one, many string }

func (t topicPhrase) phrase(c int) string {
	if c == 1 {
		return t.one
	}
	return fmt.Sprintf(t.many, c)
}

var topics = []topicPhrase{
	{"access", "someone opened a record in an emergency", "%d emergency openings of a record"},
	{"sharing", "a change to who can see a record", "%d changes to who can see a record"},
	{"appointment", "an appointment was booked, changed or cancelled", "%d appointments were booked, changed or cancelled"},
	{"letter", "a new letter", "%d new letters"},
	{"result", "a new test result", "%d new test results"},
	{"care", "something new from your care team to read or do", "%d new things from your care team to read or do"},
	{"organisation", "a new care provider connected to a record", "%d new care providers connected to a record"},
}

// topic is the broad kind an email may name.
func topic(k notification.Kind) string {
	switch k {
	case notification.KindGLASS_BROKEN:
		return "access"
	case notification.KindSHARE_OFFERED, notification.KindSHARE_ACCEPTED, notification.KindSHARE_CHANGED, notification.KindSHARE_REVOKED:
		return "sharing"
	case notification.KindAPPOINTMENT_BOOKED, notification.KindAPPOINTMENT_CHANGED, notification.KindAPPOINTMENT_CANCELLED:
		return "appointment"
	case notification.KindLETTER_RECEIVED:
		return "letter"
	case notification.KindRESULT_RELEASED:
		return "result"
	case notification.KindCARE_RESOURCE_ASSIGNED:
		return "care"
	default:
		return "organisation"
	}
}
