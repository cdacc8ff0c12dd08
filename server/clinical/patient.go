package clinical

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/contrib/entgql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/contactpreference"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/auth"
)

// Limits of the contact columns.
const (
	maxTextLen  = 255 // an address line or town: MySQL's varchar(255)
	maxEmailLen = 254 // the longest address SMTP allows
)

// postcodePattern is the UK postcode format written without its space: an
// outward code (A9, A99, AA9, AA99, A9A, AA9A, with the letters each
// position allows) and an inward code (a digit, two letters), or GIR 0AA.
var postcodePattern = regexp.MustCompile(
	`^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?|[0-9][A-HJKPS-UW])[0-9][ABD-HJLNP-UW-Z]{2})$`)

// phonePattern is a UK geographic, non-geographic (03) or mobile number
// without spaces: ten or eleven digits from 0, or the same after +44
// without the 0. The submatch is the number after the 0.
var phonePattern = regexp.MustCompile(`^(?:0|\+44)([1237][0-9]{8,9})$`)

// compact removes every space.
func compact(s string) string { return strings.Join(strings.Fields(s), "") }

// ukPostcode normalises a UK postcode to upper case with one space before
// the inward code: "sw1a1aa" becomes "SW1A 1AA".
func ukPostcode(s string) (string, bool) {
	c := strings.ToUpper(compact(s))
	if !postcodePattern.MatchString(c) {
		return "", false
	}
	return c[:len(c)-3] + " " + c[len(c)-3:], true
}

// ukPhone normalises a UK phone number to E.164: "07700 900123" becomes
// "+447700900123".
func ukPhone(s string) (string, bool) {
	m := phonePattern.FindStringSubmatch(compact(s))
	if m == nil {
		return "", false
	}
	return "+44" + m[1], true
}

// emailAddress accepts a bare address, without a display name.
func emailAddress(s string) (string, bool) {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || len(addr.Address) > maxEmailLen {
		return "", false
	}
	return addr.Address, true
}

// contactChange is a validated, normalised change of contact details: a
// nil field is left as it is, an empty one is cleared.
type contactChange struct {
	addressLine1, addressLine2, town, postcode, phone, email *string
	preferences                                              []*model.ContactPreferenceInput
}

// newContactChange validates every field of in, reporting each bad one;
// preferences may name only the organisations linked to the record.
func newContactChange(in model.UpdateContactDetailsInput, linked map[pulid.ID]bool) (contactChange, error) {
	var v validation
	text := func(s *string, path string) *string {
		if s == nil {
			return nil
		}
		t := strings.TrimSpace(*s)
		v.check(utf8.RuneCountInString(t) <= maxTextLen, path, fmt.Sprintf("at most %d characters", maxTextLen))
		return &t
	}
	formatted := func(s *string, path, message string, normalise func(string) (string, bool)) *string {
		t := text(s, path)
		if t == nil || *t == "" {
			return t
		}
		n, ok := normalise(*t)
		v.check(ok, path, message)
		return &n
	}
	c := contactChange{
		addressLine1: text(in.AddressLine1, "input.addressLine1"),
		addressLine2: text(in.AddressLine2, "input.addressLine2"),
		town:         text(in.Town, "input.town"),
		postcode:     formatted(in.Postcode, "input.postcode", "not a UK postcode, e.g. SW1A 1AA", ukPostcode),
		phone:        formatted(in.Phone, "input.phone", "not a UK phone number, e.g. 020 7946 0000 or +44 7700 900123", ukPhone),
		email:        formatted(in.Email, "input.email", "not an email address", emailAddress),
		preferences:  in.Preferences,
	}
	seen := map[pulid.ID]bool{}
	for i, p := range in.Preferences {
		path := fmt.Sprintf("input.preferences[%d].organisationId", i)
		switch {
		case !linked[p.OrganisationID]:
			v.check(false, path, "not an organisation linked to this record")
		case seen[p.OrganisationID]:
			v.check(false, path, "listed more than once")
		}
		seen[p.OrganisationID] = true
	}
	return c, v.err()
}

// apply writes the change into u.
func (c contactChange) apply(u *ent.PatientUpdate) {
	edit := func(v *string, set func(string) *ent.PatientUpdate, clear func() *ent.PatientUpdate) {
		switch {
		case v == nil:
		case *v == "":
			clear()
		default:
			set(*v)
		}
	}
	edit(c.addressLine1, u.SetAddressLine1, u.ClearAddressLine1)
	edit(c.addressLine2, u.SetAddressLine2, u.ClearAddressLine2)
	edit(c.town, u.SetTown, u.ClearTown)
	edit(c.postcode, u.SetPostcode, u.ClearPostcode)
	edit(c.phone, u.SetPhone, u.ClearPhone)
	edit(c.email, u.SetEmail, u.ClearEmail)
}

// UpdateContactDetails changes the patient's address, phone, email and
// contact preferences. They are the patient's own: a carer or clinician
// who may read the record may not change them. Demographics are open from
// P5, so a P5 sign-in is enough. The NHS number is not changed here.
func (s *Service) UpdateContactDetails(ctx context.Context, in model.UpdateContactDetailsInput) (*ent.Patient, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	pt, err := s.client.Patient.Get(ctx, in.PatientID)
	if err != nil {
		return nil, notFound(err)
	}
	if !v.Owns(pt.ID) {
		return nil, access.ErrDenied
	}
	links, err := s.client.PatientOrganisation.Query().Where(patientorganisation.PatientID(pt.ID)).All(ctx)
	if err != nil {
		return nil, err
	}
	linked := make(map[pulid.ID]bool, len(links))
	for _, l := range links {
		linked[l.OrganisationID] = true
	}
	change, err := newContactChange(in, linked)
	if err != nil {
		return nil, err
	}
	if err := fresh(in.ExpectedUpdatedAt, pt.UpdatedAt); err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		// Compare and set: a change committed since the read above is a
		// conflict too, on every engine.
		u := tx.Patient.Update().
			Where(patient.ID(pt.ID), patient.UpdatedAt(pt.UpdatedAt)).
			SetUpdatedAt(nextVersion(pt.UpdatedAt, s.now()))
		change.apply(u)
		n, err := u.Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrConflict
		}
		if err := upsertPreferences(ctx, tx, pt.ID, change.preferences, s.now()); err != nil {
			return err
		}
		return audit(ctx, tx, v, pt.ID, "PATIENT_UPDATED", "Patient")
	})
	if err != nil {
		return nil, err
	}
	return s.client.Patient.Get(ctx, pt.ID)
}

// nextVersion is the updatedAt of a change: now, or just after the
// previous version when the clock has not moved past it, so that every
// change makes older copies stale.
func nextVersion(prev, now time.Time) time.Time {
	prev = prev.UTC().Truncate(time.Microsecond)
	if now = now.UTC().Truncate(time.Microsecond); now.After(prev) {
		return now
	}
	return prev.Add(time.Microsecond)
}

// upsertPreferences sets the patient's preference for each organisation
// named, adding those not set before.
func upsertPreferences(ctx context.Context, tx *ent.Client, patientID pulid.ID, prefs []*model.ContactPreferenceInput, now time.Time) error {
	if len(prefs) == 0 {
		return nil
	}
	return tx.ContactPreference.MapCreateBulk(prefs, func(c *ent.ContactPreferenceCreate, i int) {
		p := prefs[i]
		c.SetPatientID(patientID).SetOrganisationID(p.OrganisationID).
			SetPost(p.Post).SetSms(p.Sms).SetEmail(p.Email).
			SetCreatedAt(now).SetUpdatedAt(now)
	}).
		OnConflictColumns(contactpreference.FieldPatientID, contactpreference.FieldOrganisationID).
		UpdateNewValues().
		Exec(ctx)
}

// Patients finds the patients a clinician may see: those linked to an
// organisation they are a clinician at, shared with such an organisation
// or with them, or in an open break-the-glass window. The Patient policy
// draws that set; the search only narrows it, so that no criterion reveals
// a patient outside it, not even by a count. Anyone else gets an empty
// connection.
func (s *Service) Patients(ctx context.Context, after *entgql.Cursor[pulid.ID], first *int, before *entgql.Cursor[pulid.ID], last *int, where *model.PatientSearchInput) (*ent.PatientConnection, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if len(v.OrganisationsWithRole(access.RoleClinician)) == 0 {
		return &ent.PatientConnection{Edges: []*ent.PatientEdge{}}, nil
	}
	first, err = pageSize(first, last)
	if err != nil {
		return nil, err
	}
	ps, err := searchPredicates(v, where)
	if err != nil {
		return nil, err
	}
	return s.client.Patient.Query().Where(ps...).Paginate(ctx, after, first, before, last)
}

// pageSize checks first and last, and gives a page the default size when
// neither is set: entgql would return every row.
func pageSize(first, last *int) (*int, error) {
	var v validation
	inRange := func(n *int) bool { return n == nil || (*n >= 0 && *n <= graph.MaxPageSize) }
	v.check(inRange(first), "first", fmt.Sprintf("between 0 and %d", graph.MaxPageSize))
	v.check(inRange(last), "last", fmt.Sprintf("between 0 and %d", graph.MaxPageSize))
	v.check(first == nil || last == nil, "last", "give first or last, not both")
	if first == nil && last == nil {
		size := graph.DefaultPageSize
		first = &size
	}
	return first, v.err()
}

// searchPredicates validates a search and returns its criteria: an NHS
// number, a family name with a date of birth, or an organisation the
// viewer is a clinician at with its identifier for the patient. Those
// given are all applied.
func searchPredicates(v *access.Viewer, in *model.PatientSearchInput) ([]predicate.Patient, error) {
	if in == nil {
		in = &model.PatientSearchInput{}
	}
	var (
		check validation
		ps    []predicate.Patient
	)
	given := func(s *string) string {
		if s == nil {
			return ""
		}
		return strings.TrimSpace(*s)
	}
	pair := func(a, b string, pathA, pathB string) bool {
		check.check(a != "" || b == "", pathA, "give it with "+strings.TrimPrefix(pathB, "where."))
		check.check(b != "" || a == "", pathB, "give it with "+strings.TrimPrefix(pathA, "where."))
		return a != "" && b != ""
	}

	if nhs := compact(given(in.NhsNumber)); nhs != "" {
		check.check(auth.ValidNHSNumber(nhs), "where.nhsNumber", "not a valid NHS number")
		ps = append(ps, patient.NhsNumber(nhs))
	}
	family, dob := given(in.FamilyName), given(in.DateOfBirth)
	if pair(family, dob, "where.familyName", "where.dateOfBirth") {
		day, err := auth.ParseDate(dob)
		check.check(err == nil, "where.dateOfBirth", "use YYYY-MM-DD")
		ps = append(ps, patient.FamilyNameEqualFold(family), patient.DateOfBirth(day))
	}
	var org pulid.ID
	if in.OrganisationID != nil {
		org = *in.OrganisationID
	}
	local := given(in.LocalIdentifier)
	byLocal := pair(string(org), local, "where.organisationId", "where.localIdentifier")
	if byLocal {
		ps = append(ps, patient.HasOrganisationLinksWith(
			patientorganisation.OrganisationID(org),
			patientorganisation.LocalIdentifier(local),
		))
	}
	check.check(len(ps) > 0 || len(check.fields) > 0, "where",
		"give an NHS number, a family name with a date of birth, or an organisation with its identifier for the patient")
	if err := check.err(); err != nil {
		return nil, err
	}
	if byLocal && !v.HasRole(org, access.RoleClinician) {
		return nil, access.ErrDenied
	}
	return ps, nil
}
