package clinical

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/privacy"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/blob"
)

// LinkLifetime is how long a document link works after it was issued.
const LinkLifetime = 5 * time.Minute

// linkKey signs document links. It is drawn when the process starts, so
// links die with it (harmless: they live five minutes). Several servers
// behind one address need one shared key, from configuration, or a link
// issued by one is refused by the others.
var linkKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}()

// linkMAC binds a link to one letter, one session and one expiry.
func linkMAC(letterID, sessionID pulid.ID, expires int64) []byte {
	m := hmac.New(sha256.New, linkKey)
	fmt.Fprintf(m, "%s\n%s\n%d", letterID, sessionID, expires)
	return m.Sum(nil)
}

// DocumentURL is a short-lived link to the letter's document, signed for
// the viewer's session: it stops working after LinkLifetime or when the
// session ends, and the download is checked against the privacy policy
// again as that session's viewer. It is null when there is no document.
func (s *Service) DocumentURL(ctx context.Context, l *ent.Letter) (*string, error) {
	if l.DocumentKey == nil {
		return nil, nil
	}
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if v.SessionID == "" {
		return nil, nil // no session to bind a link to
	}
	expires := s.now().Add(LinkLifetime).Unix()
	sig := fmt.Sprintf("%s.%d.%s", v.SessionID, expires,
		base64.RawURLEncoding.EncodeToString(linkMAC(l.ID, v.SessionID, expires)))
	u := s.cfg.PublicURL + "/letters/" + url.PathEscape(string(l.ID)) + "/document?" + url.Values{"sig": {sig}}.Encode()
	return &u, nil
}

// linkSession returns the session a link was signed for, when the
// signature holds for this letter and has not expired.
func (s *Service) linkSession(letterID pulid.ID, sig string) (pulid.ID, bool) {
	session, rest, _ := strings.Cut(sig, ".")
	exp, mac, _ := strings.Cut(rest, ".")
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, linkMAC(letterID, pulid.ID(session), expires)) {
		return "", false
	}
	return pulid.ID(session), s.now().Before(time.Unix(expires, 0))
}

// Sessions resolves who is downloading; auth.Service implements it.
type Sessions interface {
	// Resolve returns the viewer of a session token, or nil.
	Resolve(ctx context.Context, token string) (*access.Viewer, error)
	// ViewerForSession returns the viewer of a live session, or nil.
	ViewerForSession(ctx context.Context, id pulid.ID) (*access.Viewer, error)
}

// DocumentHandler serves GET /letters/{id}/document. The downloader is the
// bearer of an Authorization header if there is one, else the session a
// signed link names; the letter is then read as that viewer, so the
// privacy policy decides. Every refusal (no or bad credentials, an expired
// link, a hidden or missing letter, no document) is the same 404. The
// document is streamed, never held in memory.
func (s *Service) DocumentHandler(sessions Sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := pulid.ID(r.PathValue("id"))
		v, err := s.downloader(r, id, sessions)
		if err != nil {
			documentFailed(ctx, w, "resolving the downloader", err)
			return
		}
		if v == nil {
			http.NotFound(w, r)
			return
		}
		ctx, reads := access.WithReadLog(access.NewContext(ctx, v))
		l, err := s.client.Letter.Get(ctx, id)
		if ent.IsNotFound(err) || errors.Is(err, privacy.Deny) || err == nil && l.DocumentKey == nil {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			documentFailed(ctx, w, "reading a letter", err)
			return
		}
		doc, err := s.cfg.Blobs.Open(ctx, *l.DocumentKey)
		if err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				slog.ErrorContext(ctx, "letter document missing from the store", "letter", l.ID)
				http.NotFound(w, r)
				return
			}
			documentFailed(ctx, w, "opening a letter document", err)
			return
		}
		defer doc.Close()
		s.logDownload(ctx, r, v, reads)
		h := w.Header()
		h.Set("Content-Type", pdfType)
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": documentFilename(l.SentAt)}))
		if l.DocumentSize != nil {
			h.Set("Content-Length", strconv.FormatInt(*l.DocumentSize, 10))
		}
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return
		}
		if _, err := io.Copy(w, doc); err != nil {
			slog.WarnContext(ctx, "letter document download interrupted", "letter", l.ID, "err", err)
		}
	})
}

// downloader is the viewer a download is for, or nil.
func (s *Service) downloader(r *http.Request, letterID pulid.ID, sessions Sessions) (*access.Viewer, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, nil
		}
		return sessions.Resolve(r.Context(), strings.TrimSpace(token))
	}
	session, ok := s.linkSession(letterID, r.URL.Query().Get("sig"))
	if !ok {
		return nil, nil
	}
	return sessions.ViewerForSession(r.Context(), session)
}

// logDownload adds the download to the patient's access log, as the API
// does for every read by someone other than the patient: one entry per
// patient, with the grant it was read under.
func (s *Service) logDownload(ctx context.Context, r *http.Request, v *access.Viewer, reads *access.ReadLog) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	sys := access.SystemContext(context.WithoutCancel(ctx))
	for _, read := range reads.Reads(v) {
		err := s.client.AuditEvent.Create().
			SetPatientID(read.PatientID).
			SetActorAccountID(v.AccountID).
			SetNillableActorOrganisationID(optionalID(read.OrganisationID)).
			SetAction("READ").
			SetRecordKinds(read.Kinds).
			SetNillableShareID(optionalID(read.ShareID)).
			SetBreakGlass(read.BreakGlassID != "").
			SetClientAddress(addr).
			SetAt(v.Now).
			Exec(sys)
		logged(ctx, "access log entry not written", err)
	}
}

func optionalID(id pulid.ID) *pulid.ID {
	if id == "" {
		return nil
	}
	return &id
}

// documentFailed answers an internal failure; its detail stays in the log.
func documentFailed(ctx context.Context, w http.ResponseWriter, what string, err error) {
	slog.ErrorContext(ctx, what, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// documentZone is where a letter's day is counted.
var documentZone = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/London"); err == nil {
		return loc
	}
	return time.UTC
})

// documentFilename names a download by the day the letter was sent, never
// by its title: a file name can outlive the download in a shared folder,
// and a title may say more than it should.
func documentFilename(sentAt time.Time) string {
	return "letter-" + sentAt.In(documentZone()).Format("2006-01-02") + ".pdf"
}
