// Package bench is the portal's performance harness: it generates a
// dataset of a given size into a SQLite file (kept between runs), serves
// the real portal handler on a loopback listener, and measures the
// dashboard query under open-loop load (fixed arrival rates, latency from
// each request's scheduled send time) as the patient and as a carer, next
// to a hand-written baseline handler that issues the same SQL with
// database/sql and writes the same JSON with encoding/json. It also runs
// the bounded mixed load test. `go run ./server bench` runs it all.
//
// It is a measuring tool: it never runs against a store that holds real
// patients (it writes sessions and records into the file it is given).
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store"
)

// DashboardQuery is the dashboard document exactly as README "Using the
// API" gives it (the portal's home page).
const DashboardQuery = `query Dashboard($patient: ID!, $now: Time!) {
  viewer { account { id email displayName } patients { id givenName familyName } }
  patient(id: $patient) {
    id givenName familyName nhsNumber dateOfBirth
    invitedBy { name logoURL welcomeMessage }
    appointments(first: 5, where: {startsAtGTE: $now}, orderBy: {field: STARTS_AT, direction: ASC}) {
      totalCount edges { node { id title startsAt clinic site category } }
    }
    allergies { totalCount edges { node { id substance reaction severity recordedBy category } } }
    results(first: 5, orderBy: {field: REPORTED_AT, direction: DESC}) {
      edges { node { id name reportedAt category
        components { name valueNumeric valueText unit referenceLow referenceHigh flag } } }
    }
    letters(where: {readAtIsNil: true}) { totalCount edges { node { id title sentAt } } }
  }
}`

// Viewer is a signed-in account the load is sent as.
type Viewer struct {
	// Token is the bearer token of a fresh session.
	Token string
	// AccountID is the viewer's account.
	AccountID pulid.ID
	// PatientID is the record whose dashboard the viewer opens: their own,
	// or the one shared with them.
	PatientID pulid.ID
	// Carer is true for a carer (a GENERAL-only share).
	Carer bool
}

// Harness is a running portal and baseline over a generated dataset.
type Harness struct {
	// Store is the dataset's store; Counter counts its statements.
	Store   *store.Store
	Counter *store.StatementCounter
	// Dataset describes the data.
	Dataset *Dataset
	// App is the portal handler; URL is where it listens (no trailing /).
	App *app.App
	URL string
	// BaselineURL is where the baseline handler listens.
	BaselineURL string
	// Baseline is the hand-written handler.
	Baseline *Baseline
	// Owners and Carers are the viewers load is sent as.
	Owners, Carers []Viewer
	// Client is the load generator's HTTP client.
	Client *http.Client

	servers []*http.Server
}

// Setup is what Start needs.
type Setup struct {
	// File is the SQLite file the dataset lives in.
	File string
	// Sizes is the dataset's size.
	Sizes Sizes
	// Viewers is how many owners and how many carers load is sent as.
	Viewers int
	// Config is the portal's configuration (config.Load's defaults plus
	// PORTAL_* variables and any server flags given after `--`). This is
	// where a limit that would throttle the load generator is lifted.
	Config config.Config
	// Debug, when set, receives every SQL statement the portal sends.
	Debug func(string)
	// Progress receives a line per stage of generation.
	Progress func(string)
}

// Start opens (or generates) the dataset, signs the viewers in and serves
// the portal and the baseline on loopback listeners.
func Start(ctx context.Context, s Setup) (*Harness, error) {
	if s.Progress == nil {
		s.Progress = func(string) {}
	}
	counter := &store.StatementCounter{}
	st, ds, err := OpenDataset(ctx, s.File, s.Sizes, s.Progress, store.WithStatementCounter(counter))
	if err != nil {
		return nil, err
	}
	h := &Harness{Store: st, Counter: counter, Dataset: ds, Client: newClient()}
	client := st.Client
	if s.Debug != nil {
		client = ent.NewClient(ent.Driver(dialect.DebugWithContext(entsql.OpenDB(dialect.SQLite, st.DB),
			func(_ context.Context, v ...any) { s.Debug(fmt.Sprint(v...)) })))
	}
	if err := h.signIn(ctx, s.Viewers); err != nil {
		h.Close()
		return nil, err
	}
	cfg := s.Config
	if cfg.BlobDir == "" || cfg.BlobDir == "documents" {
		cfg.BlobDir = filepath.Join(os.TempDir(), "portal-bench-documents")
	}
	if h.App, err = app.New(client, cfg, nil); err != nil {
		h.Close()
		return nil, err
	}
	h.App.SetReady()
	if h.URL, err = h.serve(h.App); err != nil {
		h.Close()
		return nil, err
	}
	h.Baseline = NewBaseline(st.DB)
	if h.BaselineURL, err = h.serve(h.Baseline); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// serve serves handler on a new loopback listener with the server's
// timeouts, returning its URL.
func (h *Harness) serve(handler http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	h.servers = append(h.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the servers and closes the store.
func (h *Harness) Close() {
	for _, s := range h.servers {
		_ = s.Close()
	}
	h.Client.CloseIdleConnections()
	if h.Store != nil {
		_ = h.Store.Close()
	}
}

// newClient is the load generator's client: keep-alives on and enough
// idle connections that no request waits for a new one at the rates
// measured.
func newClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// signIn gives the first n patients and the first n carers fresh sessions
// (P9, as after an NHS login or a verified registration), written
// straight into the store: argon2id sign-ins would only measure the
// password hash, and the sign-in rate limit would refuse most of them.
func (h *Harness) signIn(ctx context.Context, n int) error {
	db := h.Store.DB
	now := time.Now().UTC()
	session := func(account pulid.ID) (string, error) {
		token := rand.Text() + rand.Text()
		sum := sha256.Sum256([]byte(token))
		_, err := db.ExecContext(ctx, "INSERT INTO `sessions` (`id`, `token_hash`, `created_at`, `last_seen_at`, `expires_at`, "+
			"`identity_level`, `method`, `account_id`) VALUES (?, ?, ?, ?, ?, 'P9', 'PASSWORD', ?)",
			pulid.New("ss"), hex.EncodeToString(sum[:]), now, now, now.Add(11*time.Hour), account)
		return token, err
	}
	for i := range min(n, h.Dataset.Sizes.Patients) {
		var v Viewer
		err := db.QueryRowContext(ctx, "SELECT a.`id`, p.`id` FROM `accounts` a JOIN `patients` p ON p.`account_id` = a.`id` WHERE a.`email` = ?",
			patientEmail(i)).Scan(&v.AccountID, &v.PatientID)
		if err != nil {
			return fmt.Errorf("bench: patient %d: %w", i, err)
		}
		if v.Token, err = session(v.AccountID); err != nil {
			return err
		}
		h.Owners = append(h.Owners, v)
	}
	for i := range min(n, h.Dataset.Sizes.Carers, h.Dataset.Sizes.Patients) {
		v := Viewer{Carer: true}
		err := db.QueryRowContext(ctx, "SELECT a.`id`, s.`patient_id` FROM `accounts` a JOIN `shares` s ON s.`grantee_account_id` = a.`id` WHERE a.`email` = ?",
			carerEmail(i)).Scan(&v.AccountID, &v.PatientID)
		if err != nil {
			return fmt.Errorf("bench: carer %d: %w", i, err)
		}
		if v.Token, err = session(v.AccountID); err != nil {
			return err
		}
		h.Carers = append(h.Carers, v)
	}
	if len(h.Owners) == 0 {
		return errors.New("bench: the dataset has no patients")
	}
	return nil
}

// DashboardBody is the JSON request body of v's dashboard. $now is the
// dataset's anchor, so the answers do not change between runs.
func (h *Harness) DashboardBody(v Viewer) []byte {
	b, _ := json.Marshal(map[string]any{
		"operationName": "Dashboard",
		"query":         DashboardQuery,
		"variables":     map[string]any{"patient": v.PatientID, "now": h.Dataset.Anchor.Format(time.RFC3339)},
	})
	return b
}

// ErrAnswer reports an answer that is not a 200 with data and no errors.
var ErrAnswer = errors.New("bench: bad answer")

// Post sends body to url as v and returns the answer's body, or an error
// unless it is a 200 without GraphQL errors.
func (h *Harness) Post(ctx context.Context, url string, v Viewer, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+v.Token)
	res, err := h.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors":`)) {
		return out, fmt.Errorf("%w: status %d: %.300s", ErrAnswer, res.StatusCode, strings.TrimSpace(string(out)))
	}
	return out, nil
}
