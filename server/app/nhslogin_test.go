package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/nhslogin/nhslogintest"
)

// nhsEnv is the portal registered as a client of an in-process NHS login.
func nhsEnv(t *testing.T) (*testEnv, *nhslogintest.Provider) {
	t.Helper()
	var op *nhslogintest.Provider
	e := newEnvWith(t, func(url string) config.Config {
		op = nhslogintest.New(t)
		op.Register(nhslogintest.Client{ID: "portal", Secret: "s3cret", RedirectURI: url + "/auth/nhs/callback"})
		return config.Config{NHSLogin: config.NHSLogin{
			Issuer: op.Issuer(), ClientID: "portal", ClientSecret: "s3cret", RedirectURL: url + "/auth/nhs/callback",
		}}
	})
	return e, op
}

// browser is a client with a cookie jar, as a patient's browser is.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// nhsSignIn goes through NHS login in the browser and returns the final
// status and the session cookie, if any.
func (e *testEnv) nhsSignIn(t *testing.T, b *http.Client) (int, string) {
	t.Helper()
	res, err := b.Get(e.server.URL + "/auth/nhs/login")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	for _, c := range b.Jar.Cookies(res.Request.URL) {
		if c.Name == auth.CookieName {
			return res.StatusCode, c.Value
		}
	}
	return res.StatusCode, ""
}

func nhsClaims(sub, nhs, dob, level string) nhslogintest.Claims {
	return nhslogintest.Claims{"sub": sub, "nhs_number": nhs, "birthdate": dob, "email": sub + "@example.org", "identity_proofing_level": level}
}

func TestNHSLoginAtP9RegistersAndOpensTheRecord(t *testing.T) {
	e, op := nhsEnv(t)
	f := seed(t, e.store.Client, 2, e.clock.Now())
	nina := newcomer(t, e, f, "9990000034", adultDOB)
	op.SetIdentity(nhsClaims("nina-sub", "9990000034", "1990-03-04", "P9"))
	status, token := e.nhsSignIn(t, browser(t))
	if status != http.StatusOK || token == "" {
		t.Fatalf("NHS login: status %d, session %q", status, token)
	}
	res := e.post(token, `query($id: ID!) { viewer { identityLevel patients { id } } patient(id: $id) { givenName appointments { totalCount } } }`,
		map[string]any{"id": string(nina)})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"identityLevel":"P9"`) ||
		!strings.Contains(string(res.Data), `"givenName":"Nina","appointments":{"totalCount":0}`) {
		t.Errorf("after P9 sign-in: %s", res.raw)
	}

	// The same person later signs in at P5: demographics only, and the API
	// says why the rest is closed.
	op.SetIdentity(nhsClaims("nina-sub", "9990000034", "1990-03-04", "P5"))
	_, p5 := e.nhsSignIn(t, browser(t))
	demo := e.post(p5, `query($id: ID!) { viewer { identityLevel } patient(id: $id) { givenName familyName dateOfBirth } }`, map[string]any{"id": string(nina)})
	if len(demo.Errors) > 0 || !strings.Contains(string(demo.Data), `"identityLevel":"P5"`) || !strings.Contains(string(demo.Data), `"givenName":"Nina"`) {
		t.Errorf("P5 demographics: %s", demo.raw)
	}
	clinical := e.post(p5, `query($id: ID!) { patient(id: $id) { appointments { totalCount } } }`, map[string]any{"id": string(nina)})
	if !slices.Equal(clinical.codes(), []string{"IDENTITY_LEVEL_TOO_LOW"}) || strings.Contains(string(clinical.raw), "totalCount") {
		t.Errorf("P5 clinical data: %s", clinical.raw)
	}
}

func TestNHSLoginIsRefusedWithoutAMatchingAdultRecord(t *testing.T) {
	e, op := nhsEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	newcomer(t, e, f, "9990000034", adultDOB)
	young := e.clock.Now().AddDate(-15, 0, 0).UTC().Truncate(24 * time.Hour)
	newcomer(t, e, f, "9990000050", young)
	ctx := access.SystemContext(context.Background())
	accounts := func() int {
		n, err := e.store.Client.Account.Query().Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := accounts()
	for name, claims := range map[string]nhslogintest.Claims{
		"P5 cannot register":                  nhsClaims("a", "9990000034", "1990-03-04", "P5"),
		"wrong date of birth":                 nhsClaims("b", "9990000034", "1990-03-05", "P9"),
		"unknown NHS number":                  nhsClaims("c", "9990000042", "1990-03-04", "P9"),
		"under 16":                            nhsClaims("d", "9990000050", young.Format("2006-01-02"), "P9"),
		"no identity proofing":                nhsClaims("e", "9990000034", "1990-03-04", "P0"),
		"P5 cannot claim a registered record": nhsClaims("f", "9990000018", "1980-05-17", "P5"), // Alice's
	} {
		op.SetIdentity(claims)
		if status, token := e.nhsSignIn(t, browser(t)); status == http.StatusOK || token != "" {
			t.Errorf("%s: status %d, session %q", name, status, token)
		}
	}
	if after := accounts(); after != before {
		t.Errorf("accounts %d -> %d", before, after)
	}
}

func TestNHSLoginAtP9JoinsTheRecordsExistingAccount(t *testing.T) {
	e, op := nhsEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	op.SetIdentity(nhsClaims("alice-sub", "9990000018", "1980-05-17", "P9"))
	_, token := e.nhsSignIn(t, browser(t))
	res := e.post(token, `{ viewer { account { email } patients { id } } }`, nil)
	if !strings.Contains(string(res.Data), f.Alice.Email) || !strings.Contains(string(res.Data), string(f.Alice.PatientID)) {
		t.Fatalf("NHS login did not reach Alice's account: %s", res.raw)
	}
	// Another NHS login with the same details is not Alice.
	op.SetIdentity(nhsClaims("impostor", "9990000018", "1980-05-17", "P9"))
	if status, token := e.nhsSignIn(t, browser(t)); status == http.StatusOK || token != "" {
		t.Errorf("a second NHS login joined the record: status %d", status)
	}
}

func TestNHSLoginRefusesBadTokens(t *testing.T) {
	e, op := nhsEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	newcomer(t, e, f, "9990000034", adultDOB)
	op.SetIdentity(nhsClaims("nina-sub", "9990000034", "1990-03-04", "P9"))
	for name, tamper := range map[string]nhslogintest.TokenOption{
		"forged signature": nhslogintest.ForgeSignature(),
		"wrong audience":   nhslogintest.Audience("someone-else"),
		"expired":          nhslogintest.ExpiresIn(-time.Minute),
		"replayed nonce":   nhslogintest.Nonce("an-earlier-nonce"),
	} {
		op.Tamper(tamper)
		if status, token := e.nhsSignIn(t, browser(t)); status == http.StatusOK || token != "" {
			t.Errorf("%s: status %d, session %q", name, status, token)
		}
	}
	op.Tamper()
	if status, token := e.nhsSignIn(t, browser(t)); status != http.StatusOK || token == "" {
		t.Errorf("good token after the bad ones: status %d", status)
	}
}
