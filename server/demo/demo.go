// Package demo loads the demonstration data that a fresh store starts with:
// two trusts, one patient with a full record, and the carer, clinician and
// admin accounts to sign in as. It is for a developer's machine only: Load
// refuses to touch a store that already has an account, so it can never mix
// invented data into real records.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// ErrNotEmpty is returned by Load when the store already holds an account.
var ErrNotEmpty = errors.New("demo: store is not empty")

// Login is one demo sign-in.
type Login struct {
	Email    string
	Password string
}

// Credentials are the demo sign-ins printed at start.
type Credentials struct {
	// Organisation is the trust that invited the demo patient: the portal
	// shows its branding.
	Organisation   struct{ Name, ODSCode string }
	Patient        Login
	Carer          Login
	Clinician      Login
	Admin          Login
	PrivacyOfficer Login
	Paramedic      Login
	Analyst        Login
	Researcher     Login
}

// Load writes the demo data into an empty store in one transaction, so a
// failed load leaves nothing behind. Every time in the data is relative to
// now. It returns ErrNotEmpty, and writes nothing, if any account exists.
func Load(ctx context.Context, client *ent.Client, now time.Time) (*Credentials, error) {
	// Privacy policies deny every write but the service's own.
	ctx = access.SystemContext(ctx)
	// Checked before hashing too, so that a caller who loads on every start
	// does not pay for argon2 each time.
	if err := ensureEmpty(ctx, client.Account); err != nil {
		return nil, err
	}
	hashes, err := hashPasswords(people)
	if err != nil {
		return nil, err
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: begin: %w", err)
	}
	l := &loader{tx: tx, now: now.UTC(), hashes: hashes, accounts: map[string]pulid.ID{}}
	if err := l.load(ctx); err != nil {
		return nil, errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("demo: commit: %w", err)
	}
	return credentials(), nil
}

// Lines returns the lines to print at start, one sign-in each.
func Lines(c *Credentials) []string {
	return []string{
		fmt.Sprintf("demo organisation %s ODS code: %s", c.Organisation.Name, c.Organisation.ODSCode),
		loginLine("patient", c.Patient),
		loginLine("carer", c.Carer),
		loginLine("clinician", c.Clinician),
		loginLine("admin", c.Admin),
		loginLine("privacy-officer", c.PrivacyOfficer),
		loginLine("paramedic", c.Paramedic),
		loginLine("analyst", c.Analyst),
		loginLine("researcher", c.Researcher),
	}
}

// loginLine is one role's line of Lines.
func loginLine(role string, l Login) string {
	return fmt.Sprintf("demo %s %s password: %s", role, l.Email, l.Password)
}

// credentials reports the demo sign-ins of the data Load writes.
func credentials() *Credentials {
	c := &Credentials{
		Patient:   patientPerson.Login,
		Carer:     carerPerson.Login,
		Clinician: clinicianPerson.Login,
		Admin:     adminPerson.Login,

		PrivacyOfficer: privacyPerson.Login,
		Paramedic:      paramedicPerson.Login,
		Analyst:        analystPerson.Login,
		Researcher:     researcherPerson.Login,
	}
	c.Organisation.Name = trusts[0].name
	c.Organisation.ODSCode = trusts[0].odsCode
	return c
}

// ensureEmpty returns ErrNotEmpty if any account exists.
func ensureEmpty(ctx context.Context, accounts *ent.AccountClient) error {
	exists, err := accounts.Query().Exist(ctx)
	if err != nil {
		return fmt.Errorf("demo: check for accounts: %w", err)
	}
	if exists {
		return ErrNotEmpty
	}
	return nil
}

// loader writes the demo data inside one transaction and remembers the IDs
// that later steps refer to.
type loader struct {
	tx  *ent.Tx
	now time.Time
	// hashes are the password hashes by email, made before the transaction
	// so that argon2 does not hold the store's write lock.
	hashes map[string]string
	// accounts are the account IDs by email.
	accounts map[string]pulid.ID
	// trusts are the organisation IDs, in the order of the trusts table.
	trusts  []pulid.ID
	patient pulid.ID
}

// load runs every step in order: organisations and people first, because
// the record refers to them.
func (l *loader) load(ctx context.Context) error {
	if err := ensureEmpty(ctx, l.tx.Account); err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"organisations", l.organisations},
		{"accounts", l.accountsAndRoles},
		{"patient", l.patientRecord},
		{"sharing", l.sharing},
		{"appointments", l.appointments},
		{"allergies", l.allergies},
		{"results", l.results},
		{"encounters", l.encounters},
		{"letters", l.letters},
		{"symptoms", l.symptoms},
		{"journal", l.journal},
		{"care resources", l.careResources},
		{"glucose readings", l.glucose},
		{"research study", l.researchStudy},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("demo: load %s: %w", s.name, err)
		}
	}
	return nil
}

// day returns hour:minute UTC on the day offset days from today.
func (l *loader) day(offset, hour, minute int) time.Time {
	y, m, d := l.now.Date()
	return time.Date(y, m, d+offset, hour, minute, 0, 0, time.UTC)
}

// ago returns the time d before now.
func (l *loader) ago(d time.Duration) time.Time {
	return l.now.Add(-d)
}
