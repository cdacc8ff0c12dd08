package mail

import (
	"errors"
	"testing"
)

func TestEnqueueRefusesUnsafeMessagesAndWritesNothing(t *testing.T) {
	ok := Message{To: "ada@example.org", Subject: "You have a new letter", Text: "Sign in to read it."}
	with := func(f func(*Message)) Message { m := ok; f(&m); return m }
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"body with an internal ID", with(func(m *Message) { m.Text = "See https://portal.example/letters/lt01JD8W4ZQ6TBN3CZ1P5X2R7Q9M" }), ErrUnsafeContent},
		{"subject with an internal ID", with(func(m *Message) { m.Subject = "Letter lt01JD8W4ZQ6TBN3CZ1P5X2R7Q9M" }), ErrUnsafeContent},
		{"subject that would add a header", with(func(m *Message) { m.Subject = "Hello\r\nBcc: eve@example.org" }), ErrUnsafeContent},
		{"recipient that is not an address", with(func(m *Message) { m.To = "ada at example.org" }), ErrBadRecipient},
		{"no recipient", with(func(m *Message) { m.To = "" }), ErrBadRecipient},
		{"two recipients", with(func(m *Message) { m.To = "ada@example.org, eve@example.org" }), ErrBadRecipient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := openClient(t)
			err := Enqueue(t.Context(), client, "TEST", tt.m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Enqueue = %v, want %v", err, tt.want)
			}
			if got := rows(t, client); len(got) != 0 {
				t.Errorf("outbox has %d rows, want none", len(got))
			}
		})
	}
}

func TestEnqueueStoresTheBareAddress(t *testing.T) {
	client := openClient(t)
	got := enqueue(t, client, Message{To: "Ada Lovelace <ada@example.org>", Subject: "Hello", Text: "Body"})
	if len(got) != 1 {
		t.Fatalf("outbox has %d rows, want 1", len(got))
	}
	r := got[0]
	if r.Recipient != "ada@example.org" || r.Subject != "Hello" || r.TextBody != "Body" || r.Kind != "TEST" {
		t.Errorf("row = %q %q %q %q", r.Recipient, r.Subject, r.TextBody, r.Kind)
	}
	if r.SentAt != nil || r.AbandonedAt != nil || r.ClaimedUntil != nil || r.Attempts != 0 {
		t.Errorf("a new row is not simply due: %+v", r)
	}
}

func TestEnqueueIsPartOfTheCallersTransaction(t *testing.T) {
	tests := []struct {
		name   string
		commit bool
		want   int
	}{
		{"a rolled-back change sends no email", false, 0},
		{"a committed change sends its email", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := openClient(t)
			tx, err := client.Tx(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := Enqueue(t.Context(), tx.Client(), "TEST", Message{To: "ada@example.org", Subject: "Hello", Text: "Body"}); err != nil {
				tx.Rollback()
				t.Fatalf("Enqueue: %v", err)
			}
			if tt.commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rows(t, client); len(got) != tt.want {
				t.Errorf("outbox has %d rows, want %d", len(got), tt.want)
			}
		})
	}
}
