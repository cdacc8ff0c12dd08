package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/patientportal/portal/ent/account"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/server/auth"
)

// trust is a demo organisation. The names are invented; the ODS codes have
// the shape of real NHS trust codes so that the portal looks as it will.
type trust struct {
	odsCode, name, logoURL, welcome string
	// Contact details: the phone numbers are in Ofcom's ranges kept for
	// drama, the addresses and domains invented.
	phone, email, website, address string
	// kind defaults to a trust.
	kind organisation.Kind
}

// trusts are the demo trusts; the first invited the patient.
var trusts = []trust{
	{
		odsCode: "RTH",
		name:    "Northbridge University Hospitals NHS Foundation Trust",
		logoURL: "https://logos.example.org/rth.svg",
		welcome: "Welcome to your Northbridge patient record. Here you can see your appointments, " +
			"letters and test results from our hospitals, add your own health information and " +
			"choose who you share it with. If you feel unwell, contact your GP or call 111; " +
			"in an emergency call 999.",
		phone:   "0113 496 0000",
		email:   "patient.enquiries@northbridge.example.org",
		website: "https://www.northbridge.example.org",
		address: "Northbridge General Hospital, Infirmary Street, Northbridge NB1 3EX",
	},
	{
		odsCode: "RGT",
		name:    "Fenwick Valley Hospitals NHS Foundation Trust",
		logoURL: "https://logos.example.org/rgt.svg",
		welcome: "Fenwick Valley Hospitals share your care records here so that you and the " +
			"people you choose can see them. Messages sent here are not monitored out of hours.",
		phone:   "0116 496 0123",
		email:   "contact@fenwickvalley.example.org",
		website: "https://www.fenwickvalley.example.org",
		address: "Fenwick Valley Hospital, Station Road, Fenwick FV2 8LP",
	},
	{
		// Its paramedics may break the glass in an emergency.
		odsCode: "RX9",
		name:    "Northbridge Ambulance Service NHS Trust",
		logoURL: "https://logos.example.org/rx9.svg",
		welcome: "Northbridge Ambulance Service.",
		phone:   "0113 496 0999",
		email:   "feedback@northbridgeambulance.example.org",
		website: "https://www.northbridgeambulance.example.org",
		address: "Ambulance Headquarters, Ridgeway Park, Northbridge NB6 2AS",
		kind:    organisation.KindAMBULANCE_SERVICE,
	},
	{
		// Its researchers run a study the demo patient may join.
		odsCode: "RNB01",
		name:    "Northbridge Clinical Research Unit",
		logoURL: "https://logos.example.org/rnb01.svg",
		welcome: "Northbridge Clinical Research Unit.",
		phone:   "0113 496 0456",
		email:   "research@northbridge.example.org",
		website: "https://research.northbridge.example.org",
		address: "Research Unit, Infirmary Street, Northbridge NB1 3EX",
		kind:    organisation.KindRESEARCH,
	},
}

// researchUnit is the index in trusts of the researcher's organisation.
const researchUnit = 3

// ambulanceService is the index in trusts of the paramedic's organisation.
const ambulanceService = 2

// person is a demo account holder.
type person struct {
	Login
	name string
	// role is held at the organisation trusts[at]; empty for none.
	role membership.Role
	at   int
}

// The demo account holders. The passwords are printed at start: this data
// only ever lives on a developer's machine. Each is distinct, so that a
// sign-in shows which role it is.
var (
	patientPerson    = person{Login{"patient@example.org", "demo-patient-2026"}, "Sam Taylor", "", 0}
	carerPerson      = person{Login{"carer@example.org", "demo-carer-2026"}, "Jordan Taylor", "", 0}
	clinicianPerson  = person{Login{"clinician@example.org", "demo-clinician-2026"}, "Dr Priya Shah", membership.RoleCLINICIAN, 0}
	adminPerson      = person{Login{"admin@example.org", "demo-admin-2026"}, "Chris Evans", membership.RoleADMIN, 0}
	privacyPerson    = person{Login{"privacy@example.org", "demo-privacy-2026"}, "Morgan Lee", membership.RolePRIVACY_OFFICER, 0}
	paramedicPerson  = person{Login{"paramedic@example.org", "demo-paramedic-2026"}, "Alex Carter", membership.RoleCLINICIAN, ambulanceService}
	analystPerson    = person{Login{"analyst@example.org", "demo-analyst-2026"}, "Sasha Patel", membership.RoleANALYST, 0}
	researcherPerson = person{Login{"researcher@example.org", "demo-researcher-2026"}, "Robin Hughes", membership.RoleRESEARCHER, researchUnit}
	people           = []person{patientPerson, carerPerson, clinicianPerson, adminPerson, privacyPerson, paramedicPerson, analystPerson, researcherPerson}
)

// patientNHSStem is the first nine digits of the patient's NHS number, in
// the 999 range the NHS keeps for testing, so it can never be a real person.
const patientNHSStem = "999000001"

// hashPasswords returns each person's password hash by email.
func hashPasswords(ps []person) (map[string]string, error) {
	hashes := make(map[string]string, len(ps))
	for _, p := range ps {
		h, err := auth.HashPassword(p.Password)
		if err != nil {
			return nil, err
		}
		hashes[p.Email] = h
	}
	return hashes, nil
}

// organisations writes the trusts.
func (l *loader) organisations(ctx context.Context) error {
	orgs, err := l.tx.Organisation.MapCreateBulk(trusts, func(c *ent.OrganisationCreate, i int) {
		t := trusts[i]
		kind := t.kind
		if kind == "" {
			kind = organisation.KindTRUST
		}
		c.SetOdsCode(t.odsCode).SetName(t.name).SetKind(kind).
			SetLogoURL(t.logoURL).SetWelcomeMessage(t.welcome).SetEmergencyCare(kind != organisation.KindRESEARCH).
			SetPhone(t.phone).SetEmail(t.email).SetWebsite(t.website).SetAddress(t.address).
			SetCreatedAt(l.now).SetUpdatedAt(l.now)
	}).Save(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		l.trusts = append(l.trusts, o.ID)
	}
	return nil
}

// accountsAndRoles writes the accounts and their roles at the first trust.
func (l *loader) accountsAndRoles(ctx context.Context) error {
	for _, p := range people {
		email := strings.ToLower(p.Email)
		create := l.tx.Account.Create().SetEmail(email).SetDisplayName(p.name).
			SetPasswordHash(l.hashes[p.Email]).SetCreatedAt(l.now).SetUpdatedAt(l.now)
		if p.Email == patientPerson.Email {
			// Registered through the trust's invitation with the date-of-birth
			// check, which counts as P9.
			create.SetIdentityLevel(account.IdentityLevelP9)
		}
		a, err := create.Save(ctx)
		if err != nil {
			return err
		}
		l.accounts[p.Email] = a.ID
		if p.role == "" {
			continue
		}
		err = l.tx.Membership.Create().SetAccountID(a.ID).SetOrganisationID(l.trusts[p.at]).
			SetRole(p.role).SetCreatedAt(l.now).SetUpdatedAt(l.now).Exec(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// patientRecord writes the patient, owned by the patient's account and
// linked to both trusts.
func (l *loader) patientRecord(ctx context.Context) error {
	nhs, err := withCheckDigit(patientNHSStem)
	if err != nil {
		return err
	}
	y, m, d := l.now.Date()
	p, err := l.tx.Patient.Create().
		SetAccountID(l.accounts[patientPerson.Email]).
		SetNhsNumber(nhs).
		SetGivenName("Sam").SetFamilyName("Taylor").
		SetDateOfBirth(dateOnly(y-34, m-4, d-11)).
		SetAddressLine1("14 Millbrook Road").SetTown("Northbridge").SetPostcode("NB4 7QT").
		SetPhone("07700 900123"). // Ofcom's range for drama, never a real line
		SetEmail(patientPerson.Email).
		SetInvitedByOrganisationID(l.trusts[0]).
		SetCreatedAt(l.now).SetUpdatedAt(l.now).
		Save(ctx)
	if err != nil {
		return err
	}
	l.patient = p.ID
	links := []struct {
		localID string
		linked  int // days ago
	}{
		{"N4417283", 400},
		{"F0093617", 80},
	}
	return l.tx.PatientOrganisation.MapCreateBulk(links, func(c *ent.PatientOrganisationCreate, i int) {
		c.SetPatientID(l.patient).SetOrganisationID(l.trusts[i]).
			SetLocalIdentifier(links[i].localID).SetLinkedAt(l.day(-links[i].linked, 10, 0))
	}).Exec(ctx)
}

// sharing writes the invitations the patient came through: the first
// trust's invitation to register, and the patient's invitation to the
// carer, accepted as a share of GENERAL only.
func (l *loader) sharing(ctx context.Context) error {
	invitations := []struct {
		purpose  invitation.Purpose
		org      source
		email    string
		sent     int // days ago
		accepted int // days ago
	}{
		{invitation.PurposeREGISTRATION, firstTrust, patientPerson.Email, 398, 395},
		{invitation.PurposeSHARE, patientSource, carerPerson.Email, 31, 30},
	}
	ivs, err := l.tx.Invitation.MapCreateBulk(invitations, func(c *ent.InvitationCreate, i int) {
		iv := invitations[i]
		c.SetPatientID(l.patient).SetNillableOrganisationID(l.org(iv.org)).
			SetPurpose(iv.purpose).SetEmail(iv.email).SetTokenHash(unusableTokenHash()).
			SetExpiresAt(l.day(-iv.sent+14, 9, 0)).SetAcceptedAt(l.day(-iv.accepted, 19, 30)).
			SetCreatedAt(l.day(-iv.sent, 9, 0)).SetUpdatedAt(l.day(-iv.accepted, 19, 30))
	}).Save(ctx)
	if err != nil {
		return err
	}
	carerInvitation := ivs[1]
	return l.tx.Share.Create().
		SetPatientID(l.patient).
		SetGranteeAccountID(l.accounts[carerPerson.Email]).
		SetInvitationID(carerInvitation.ID).
		SetRelationship(share.RelationshipCARER).
		SetMentalHealth(false).SetSexualHealth(false).SetSocialCare(false).
		SetAcceptedAt(*carerInvitation.AcceptedAt).
		SetCreatedAt(carerInvitation.CreatedAt).SetUpdatedAt(l.now).
		Exec(ctx)
}

// unusableTokenHash returns the hash of a token nobody holds: the demo
// invitations are already accepted, so theirs must never work again.
func unusableTokenHash() string {
	sum := sha256.Sum256([]byte(rand.Text()))
	return hex.EncodeToString(sum[:])
}
