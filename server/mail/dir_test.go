package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDirWritesParseableEmlFile(t *testing.T) {
	client := openClient(t)
	m := Message{To: "ada@example.org", Subject: "Invitation – please sign in", Text: "Hello,\n\nYou can now see your record online.\n"}
	outbox := enqueue(t, client, m)
	id := string(outbox[0].ID)

	folder := filepath.Join(t.TempDir(), "not", "yet", "there")
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	logs := &logBuffer{}
	d := NewDir(folder)
	d.Now = func() time.Time { return at }
	d.Logger = logs.logger()
	w := &Worker{Client: client, Sender: d, Now: newClock().Now, Logger: discardLogger()}
	if sent, err := w.SendDue(t.Context()); err != nil || sent != 1 {
		t.Fatalf("SendDue = %d, %v; want 1, nil", sent, err)
	}

	entries, err := os.ReadDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("folder holds %d files, want 1", len(entries))
	}
	name := entries[0].Name()
	if want := "20260301T093000.000000000Z-" + id + ".eml"; name != want {
		t.Errorf("file name = %q, want %q", name, want)
	}
	info, err := entries[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("file mode %v lets others read addresses", perm)
	}
	raw, err := os.ReadFile(filepath.Join(folder, name))
	if err != nil {
		t.Fatal(err)
	}
	p := parseEmail(t, raw)
	if p.Subject != m.Subject || p.Body != strings.TrimRight(m.Text, "\n") || p.To != m.To {
		t.Errorf("file says to %q, subject %q, body %q", p.To, p.Subject, p.Body)
	}
	if p.MediaType != "text/plain" || p.Charset != "utf-8" {
		t.Errorf("Content-Type %s; charset=%s", p.MediaType, p.Charset)
	}
	if p.MessageID != "<"+id+"@portal.invalid>" {
		t.Errorf("Message-ID = %q", p.MessageID)
	}

	out := logs.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "id="+id) || !strings.Contains(out, "kind=TEST") {
		t.Errorf("want one log line with the id and kind, got:\n%s", out)
	}
	if strings.Contains(out, "@") || strings.Contains(out, "record online") || strings.Contains(out, "Invitation") {
		t.Errorf("log holds the address, subject or body:\n%s", out)
	}
}

func TestDirRefusesAMalformedID(t *testing.T) {
	folder := t.TempDir()
	d := NewDir(folder)
	d.Logger = discardLogger()
	if err := d.Send(t.Context(), "../../etc/passwd", Message{To: "ada@example.org", Subject: "Hi", Text: "Hi"}); err == nil {
		t.Fatal("Send accepted an id that is not an outbox id")
	}
	if entries, _ := os.ReadDir(folder); len(entries) != 0 {
		t.Errorf("folder holds %d files, want none", len(entries))
	}
}
