package app_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/breakglass"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/journalentry"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/ent/symptom"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store/storetest"
)

// The property test draws random worlds (labels, release states, shares,
// break-the-glass windows, sharing switched off) and compares what the API
// answers with a reference model of the rules written here, independently
// of package access.

// Environment variables of the property test.
const (
	envPropertySeed  = "PORTAL_PROPERTY_SEED"
	envPropertyCases = "PORTAL_PROPERTY_CASES"
)

// propViewer is who asks in a case.
type propViewer int

const (
	asOwner propViewer = iota
	asCarer
	asProducingClinician // a clinician of trust A, which produced the sourced items
	asSharedClinician    // a clinician of trust B, grantee of the organisation share
	asEmergency          // a clinician of C, which may hold a break-the-glass window
	propViewers
)

func (v propViewer) String() string {
	return [...]string{"the patient", "the carer", "a clinician of the producing trust",
		"a clinician of the trust with the organisation share", "the break-the-glass professional"}[v]
}

// resultState is a result's release state in a case.
type resultState int

const (
	stateReleased     resultState = iota // released by a clinician (visible_from in the past)
	stateAutoReleased                    // reached its release time (visible_from = release_at, past)
	stateHeldUntil                       // release time in the future
	stateHeld                            // held for a clinician, no release time
	stateNever                           // never released to the patient
	resultStates
)

func (s resultState) String() string {
	return [...]string{"released", "auto-released", "held until later", "held", "never released"}[s]
}

func (s resultState) contentReleased() bool { return s == stateReleased || s == stateAutoReleased }

// expiry is a share's expiry in a case.
type expiry int

const (
	noExpiry expiry = iota
	expiresLater
	expired
)

// propShare is a share's configuration in a case.
type propShare struct {
	MentalHealth, SexualHealth, SocialCare bool
	Accepted, Revoked                      bool
	Expiry                                 expiry
}

func (s propShare) String() string {
	var granted []string
	for c, ok := range map[string]bool{"MENTAL_HEALTH": s.MentalHealth, "SEXUAL_HEALTH": s.SexualHealth, "SOCIAL_CARE": s.SocialCare} {
		if ok {
			granted = append(granted, c)
		}
	}
	slices.Sort(granted)
	return fmt.Sprintf("{granted GENERAL%s accepted=%v revoked=%v expiry=%s}",
		strings.Join(append([]string{""}, granted...), "+"), s.Accepted, s.Revoked,
		[...]string{"none", "later", "past"}[s.Expiry])
}

// glass is the break-the-glass window in a case.
type glass int

const (
	noGlass glass = iota
	glassOpen
	glassClosed // opened and ended
)

// propCase is one random world.
type propCase struct {
	Viewer   propViewer
	Cats     []category.Category // per item (components follow their result)
	States   []resultState       // per item; results and components only
	EDSeen   bool
	EDAssign category.Category // the category the clinician assigned the ED attendance
	Carer    propShare
	Org      propShare
	Glass    glass
	Disabled bool
}

func (c propCase) describe(items []recItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "viewer: %s; carer share %s; organisation share %s; break-the-glass %s; sharing disabled %v\n",
		c.Viewer, c.Carer, c.Org, [...]string{"none", "open", "ended"}[c.Glass], c.Disabled)
	for i, it := range items {
		fmt.Fprintf(&b, "  %s %s %s", it.Type, it.ID, c.Cats[i])
		if it.Source != nil {
			b.WriteString(" produced by A")
		}
		if it.Type == "Result" || it.Type == "ResultComponent" {
			fmt.Fprintf(&b, " %s", c.States[i])
		}
		if it.Protected != nil && it.Type == "Encounter" && it.Protected["ed"] != "" {
			fmt.Fprintf(&b, " ED seen=%v assigned=%s", c.EDSeen, c.EDAssign)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// model is the reference: what the rules say a viewer sees of an item.
func (c propCase) sees(items []recItem, i int, orgA pulid.ID) (row, content bool) {
	it := items[i]
	cat := c.Cats[i]
	state := c.States[i]
	resultLike := it.Type == "Result" || it.Type == "ResultComponent"
	releasedContent := !resultLike || state.contentReleased()
	unseenED := it.Protected["ed"] != "" && !c.EDSeen

	// share is the rule for a person share, an organisation share and a
	// break-the-glass window: the label must be opened, the content
	// released; an unseen ED attendance shows without its detail.
	share := func(opens bool) (bool, bool) {
		if !opens || !releasedContent {
			return false, false
		}
		return true, !unseenED
	}
	switch c.Viewer {
	case asOwner:
		switch {
		case resultLike && state == stateNever:
			return false, false
		case it.Type == "ResultComponent" && !releasedContent:
			return false, false
		}
		return true, releasedContent
	case asProducingClinician:
		if it.Source != nil && *it.Source == orgA {
			return true, true
		}
		return false, false
	case asCarer:
		return share(c.active(c.Carer) && c.Carer.opens(cat))
	case asSharedClinician:
		return share(c.active(c.Org) && c.Org.opens(cat))
	case asEmergency:
		return share(c.Glass == glassOpen && !c.Disabled && cat == category.General)
	}
	return false, false
}

// active is a share that was accepted, is not revoked nor expired, on a
// record whose sharing is on.
func (c propCase) active(s propShare) bool {
	return s.Accepted && !s.Revoked && s.Expiry != expired && !c.Disabled
}

// opens is the category rule of a share: GENERAL always, a label if
// granted, RESTRICTED only with all three, PRIVATE never.
func (s propShare) opens(c category.Category) bool {
	switch c {
	case category.General:
		return true
	case category.MentalHealth:
		return s.MentalHealth
	case category.SexualHealth:
		return s.SexualHealth
	case category.SocialCare:
		return s.SocialCare
	case category.Restricted:
		return s.MentalHealth && s.SexualHealth && s.SocialCare
	}
	return false
}

// seesPatient is the model of the patient row.
func (c propCase) seesPatient() bool {
	switch c.Viewer {
	case asOwner, asProducingClinician: // A is linked to the record
		return true
	case asCarer:
		return c.active(c.Carer)
	case asSharedClinician:
		return c.active(c.Org)
	case asEmergency:
		return c.Glass == glassOpen && !c.Disabled
	}
	return false
}

// propWorld is the store the cases rewrite.
type propWorld struct {
	e         *testEnv
	now       time.Time
	patient   pulid.ID
	orgA      pulid.ID
	orgC      pulid.ID
	carer     pulid.ID
	emergency pulid.ID
	carerShr  pulid.ID
	orgShr    pulid.ID
	items     []recItem
	parent    []int // index of a component's result, else -1
	tokens    [propViewers]string
	query     string
	vars      map[string]any
}

func buildPropertyWorld(t *testing.T, e *testEnv) *propWorld {
	t.Helper()
	now := e.clock.Now()
	b := newBuilder(t, e.store.Client, now)
	w := &propWorld{e: e, now: b.now}
	w.orgA = b.organisation("PA1", "Producing Trust", organisation.KindTRUST, true)
	orgB := b.organisation("PB2", "Sharing Trust", organisation.KindTRUST, true)
	w.orgC = b.organisation("PC3", "Ambulance Service", organisation.KindAMBULANCE_SERVICE, true)
	owner := b.account("prop.owner@example.org", "Owner")
	w.carer = b.account("prop.carer@example.org", "Carer")
	clinA := b.account("prop.clinician.a@example.org", "Clinician A")
	clinB := b.account("prop.clinician.b@example.org", "Clinician B")
	w.emergency = b.account("prop.emergency@example.org", "Paramedic")
	b.member(clinA, w.orgA, membership.RoleCLINICIAN)
	b.member(clinB, orgB, membership.RoleCLINICIAN)
	b.member(w.emergency, w.orgC, membership.RoleCLINICIAN)
	w.patient = b.patient(owner, "Prop", w.orgA)
	w.carerShr = b.share(w.patient, shareSpec{Account: w.carer, Relationship: share.RelationshipCARER})
	w.orgShr = b.share(w.patient, shareSpec{Organisation: orgB, Relationship: share.RelationshipORGANISATION})

	a := &w.orgA
	add := func(its ...recItem) {
		for _, it := range its {
			w.items = append(w.items, it)
			p := -1
			if it.Type == "ResultComponent" {
				for j, r := range w.items {
					if r.ID == it.Parent {
						p = j
					}
				}
			}
			w.parent = append(w.parent, p)
		}
	}
	for range 3 {
		add(b.record("Appointment", w.patient, category.General, a))
		add(b.result(w.patient, category.General, a, relReleased)...)
	}
	for range 2 {
		add(b.record("Letter", w.patient, category.General, a))
		add(b.record("Symptom", w.patient, category.General, nil))
	}
	add(b.record("JournalEntry", w.patient, category.General, nil))
	add(b.record("Allergy", w.patient, category.General, a))
	add(b.record("Allergy", w.patient, category.General, nil))
	add(b.encounter(w.patient, category.General, a, false))
	ed := b.encounter(w.patient, category.General, a, true)
	ed.Protected["ed"] = "yes"
	add(ed)

	w.tokens[asOwner] = e.signIn("prop.owner@example.org", fixturePassword)
	w.tokens[asCarer] = e.signIn("prop.carer@example.org", fixturePassword)
	w.tokens[asProducingClinician] = e.signIn("prop.clinician.a@example.org", fixturePassword)
	w.tokens[asSharedClinician] = e.signIn("prop.clinician.b@example.org", fixturePassword)
	w.tokens[asEmergency] = e.signIn("prop.emergency@example.org", fixturePassword)

	// One document per case: every connection with its count, nodes over
	// every item, and node of each item.
	var q strings.Builder
	q.WriteString("query($p: ID!, $ids: [ID!]!")
	w.vars = map[string]any{"p": string(w.patient)}
	var ids []string
	for i, it := range w.items {
		fmt.Fprintf(&q, ", $i%d: ID!", i)
		w.vars[fmt.Sprintf("i%d", i)] = string(it.ID)
		ids = append(ids, string(it.ID))
	}
	w.vars["ids"] = ids
	q.WriteString(") {\n  viewer { patients { id } }\n  patient(id: $p) { id\n")
	for _, conn := range propConnections {
		fmt.Fprintf(&q, "    %s(first: 100) { totalCount edges { node { ...f } } }\n", conn)
	}
	q.WriteString("  }\n  nodes(ids: $ids) { ...f }\n")
	for i := range w.items {
		fmt.Fprintf(&q, "  n%d: node(id: $i%d) { ...f }\n", i, i)
	}
	q.WriteString("}\nfragment f on Node { __typename id")
	for _, typ := range recordTypes {
		extra := ""
		switch typ {
		case "Result":
			extra = " conclusion components { id }"
		case "Encounter":
			extra = " presentingComplaint"
		}
		fmt.Fprintf(&q, " ... on %s { category%s }", typ, extra)
	}
	q.WriteString(" }")
	w.query = q.String()
	return w
}

// propConnections are the connections on Patient the property test reads.
var propConnections = []string{"appointments", "letters", "symptoms", "journalEntries", "allergies", "results", "encounters"}

// draw makes a random case.
func (w *propWorld) draw(r *rand.Rand) propCase {
	randomShare := func() propShare {
		return propShare{
			MentalHealth: r.IntN(2) == 0, SexualHealth: r.IntN(2) == 0, SocialCare: r.IntN(2) == 0,
			Accepted: r.IntN(5) != 0, Revoked: r.IntN(5) == 0, Expiry: expiry(r.IntN(3)),
		}
	}
	c := propCase{
		Viewer:   propViewer(r.IntN(int(propViewers))),
		Cats:     make([]category.Category, len(w.items)),
		States:   make([]resultState, len(w.items)),
		EDSeen:   r.IntN(2) == 0,
		EDAssign: category.All[r.IntN(len(category.All))],
		Carer:    randomShare(),
		Org:      randomShare(),
		Glass:    glass(r.IntN(3)),
		Disabled: r.IntN(4) == 0,
	}
	for i, it := range w.items {
		switch {
		case w.parent[i] >= 0:
			c.Cats[i], c.States[i] = c.Cats[w.parent[i]], c.States[w.parent[i]]
		case it.Protected["ed"] != "":
			c.Cats[i] = category.General
			if c.EDSeen {
				c.Cats[i] = c.EDAssign
			}
		default:
			c.Cats[i] = category.All[r.IntN(len(category.All))]
			if it.Type == "Result" {
				c.States[i] = resultState(r.IntN(int(resultStates)))
			}
		}
	}
	return c
}

// apply rewrites the rows a case changes in one transaction, as the
// service itself.
func (w *propWorld) apply(t *testing.T, c propCase) {
	t.Helper()
	b := newBuilder(t, w.e.store.Client, w.now)
	tx, err := w.e.store.Client.Tx(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx := b.ctx
	fail := func(err error) {
		t.Helper()
		if err != nil {
			_ = tx.Rollback()
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { v := w.now.Add(d); return &v }
	for i, it := range w.items {
		cat := c.Cats[i]
		switch it.Type {
		case "Appointment":
			fail(tx.Appointment.Update().Where(appointment.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).Exec(ctx))
		case "Letter":
			fail(tx.Letter.Update().Where(letter.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).Exec(ctx))
		case "Symptom":
			fail(tx.Symptom.Update().Where(symptom.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).Exec(ctx))
		case "JournalEntry":
			fail(tx.JournalEntry.Update().Where(journalentry.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).Exec(ctx))
		case "Allergy":
			fail(tx.Allergy.Update().Where(allergy.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).Exec(ctx))
		case "ResultComponent":
			fail(tx.ResultComponent.Update().Where(resultcomponent.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).Exec(ctx))
		case "Encounter":
			u := tx.Encounter.Update().Where(encounter.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat)
			if it.Protected["ed"] != "" {
				u.SetAssignedCategory(c.EDAssign)
				if c.EDSeen {
					u.SetStatus(encounter.StatusSEEN).SetSeenAt(*at(-time.Hour))
				} else {
					u.SetStatus(encounter.StatusARRIVED).ClearSeenAt()
				}
			}
			fail(u.Exec(ctx))
		case "Result":
			u := tx.Result.Update().Where(result.ID(it.ID)).SetCategory(cat).SetAssignedCategory(cat).
				ClearReleaseAt().ClearReleasedAt().ClearVisibleFrom().SetNeverRelease(false)
			switch c.States[i] {
			case stateReleased:
				u.SetReleasedAt(*at(-2 * time.Hour)).SetVisibleFrom(*at(-2 * time.Hour))
			case stateAutoReleased:
				u.SetReleaseAt(*at(-time.Hour)).SetVisibleFrom(*at(-time.Hour))
			case stateHeldUntil:
				u.SetReleaseAt(*at(72 * time.Hour)).SetVisibleFrom(*at(72 * time.Hour))
			case stateNever:
				u.SetNeverRelease(true)
			}
			fail(u.Exec(ctx))
		default:
			fail(fmt.Errorf("apply: no update for %s", it.Type))
		}
	}
	for id, s := range map[pulid.ID]propShare{w.carerShr: c.Carer, w.orgShr: c.Org} {
		u := tx.Share.Update().Where(share.ID(id)).
			SetMentalHealth(s.MentalHealth).SetSexualHealth(s.SexualHealth).SetSocialCare(s.SocialCare).
			ClearAcceptedAt().ClearRevokedAt().ClearExpiresAt()
		if s.Accepted {
			u.SetAcceptedAt(*at(-48 * time.Hour))
		}
		if s.Revoked {
			u.SetRevokedAt(*at(-time.Hour))
		}
		switch s.Expiry {
		case expiresLater:
			u.SetExpiresAt(*at(24 * time.Hour))
		case expired:
			u.SetExpiresAt(*at(-time.Minute))
		}
		fail(u.Exec(ctx))
	}
	_, err = tx.BreakGlass.Delete().Where(breakglass.PatientID(w.patient)).Exec(ctx)
	fail(err)
	if c.Glass != noGlass {
		end := *at(20 * time.Minute)
		if c.Glass == glassClosed {
			end = *at(-5 * time.Minute)
		}
		fail(tx.BreakGlass.Create().SetPatientID(w.patient).SetAccountID(w.emergency).SetOrganisationID(w.orgC).
			SetReason("Collapsed at home").SetStartedAt(end.Add(-30 * time.Minute)).SetExpiresAt(end).Exec(ctx))
	}
	pu := tx.Patient.Update().Where(patient.ID(w.patient)).ClearSharingDisabledAt().ClearSharingDisabledByOrganisationID()
	if c.Disabled {
		pu.SetSharingDisabledAt(*at(-time.Hour)).SetSharingDisabledByOrganisationID(w.orgA)
	}
	fail(pu.Exec(ctx))
	fail(tx.Commit())
}

// check compares the API's answer with the model and returns what differs.
func (w *propWorld) check(t *testing.T, c propCase, stats *propStats) []string {
	t.Helper()
	res := w.e.in(t).post(w.tokens[c.Viewer], w.query, w.vars)
	var diffs []string
	if len(res.Errors) > 0 {
		diffs = append(diffs, fmt.Sprintf("errors: %s", res.raw))
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(res.Data, &data); err != nil {
		return append(diffs, fmt.Sprintf("data: %v: %s", err, res.raw))
	}
	byID := map[string]int{}
	for i, it := range w.items {
		byID[string(it.ID)] = i
	}
	node := func(where string, i int, raw json.RawMessage) {
		row, content := c.sees(w.items, i, w.orgA)
		stats.count(row, content)
		it := w.items[i]
		var n map[string]json.RawMessage
		_ = json.Unmarshal(raw, &n)
		switch {
		case !row && n != nil:
			diffs = append(diffs, fmt.Sprintf("%s: returned the hidden %s %s (%s): %s", where, it.Type, it.ID, c.Cats[i], raw))
			return
		case row && n == nil:
			diffs = append(diffs, fmt.Sprintf("%s: %s %s (%s) is missing", where, it.Type, it.ID, c.Cats[i]))
			return
		case !row:
			return
		}
		if got := fieldValue(n["id"]); got != string(it.ID) {
			diffs = append(diffs, fmt.Sprintf("%s: id %s, want %s", where, got, it.ID))
		}
		if got := fieldValue(n["category"]); got != string(c.Cats[i]) {
			diffs = append(diffs, fmt.Sprintf("%s: %s %s category %s, want %s", where, it.Type, it.ID, got, c.Cats[i]))
		}
		guarded := map[string]string{}
		switch it.Type {
		case "Result":
			guarded["conclusion"] = it.Protected["conclusion"]
			guarded["components"] = it.Protected["components"]
		case "Encounter":
			guarded["presentingComplaint"] = it.Protected["presentingComplaint"]
		}
		for f, val := range guarded {
			want := "null"
			if content {
				want = val
			}
			if got := fieldValue(n[f]); got != want {
				diffs = append(diffs, fmt.Sprintf("%s: %s %s (%s) %s = %s, want %s", where, it.Type, it.ID, c.Cats[i], f, got, want))
			}
		}
	}

	var viewer struct{ Patients []struct{ ID string } }
	_ = json.Unmarshal(data["viewer"], &viewer)
	var listed []string
	for _, p := range viewer.Patients {
		listed = append(listed, p.ID)
	}
	// viewer.patients lists the records held through a grant (own, share,
	// break-the-glass); a clinician finds the organisation's patients by
	// searching, so the producing clinician's list stays empty.
	if want := c.seesPatient() && c.Viewer != asProducingClinician; want != slices.Contains(listed, string(w.patient)) || len(listed) > 1 {
		diffs = append(diffs, fmt.Sprintf("viewer.patients = %v, want the record listed: %v", listed, want))
	}
	var pt map[string]json.RawMessage
	_ = json.Unmarshal(data["patient"], &pt)
	if want := c.seesPatient(); want != (pt != nil) {
		diffs = append(diffs, fmt.Sprintf("patient visible = %v, want %v", pt != nil, want))
	}
	for _, conn := range propConnections {
		var list struct {
			TotalCount int
			Edges      []struct{ Node json.RawMessage }
		}
		if pt != nil {
			if err := json.Unmarshal(pt[conn], &list); err != nil {
				diffs = append(diffs, fmt.Sprintf("%s: %v", conn, err))
			}
		}
		var got, want []string
		for _, e := range list.Edges {
			id := fieldValue(json.RawMessage(mustField(e.Node, "id")))
			got = append(got, id)
			if i, ok := byID[id]; ok {
				node(conn, i, e.Node)
			} else {
				diffs = append(diffs, fmt.Sprintf("%s lists an unknown id %s", conn, id))
			}
		}
		for i, it := range w.items {
			if row, _ := c.sees(w.items, i, w.orgA); row && pt != nil && connectionOf[it.Type] == conn {
				want = append(want, string(it.ID))
			}
		}
		if c.seesPatient() && pt == nil {
			continue // already reported
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			diffs = append(diffs, fmt.Sprintf("%s lists %v, want %v", conn, got, want))
		}
		if list.TotalCount != len(want) {
			diffs = append(diffs, fmt.Sprintf("%s totalCount %d, want %d", conn, list.TotalCount, len(want)))
		}
	}

	var nodes []json.RawMessage
	_ = json.Unmarshal(data["nodes"], &nodes)
	if len(nodes) != len(w.items) {
		diffs = append(diffs, fmt.Sprintf("nodes returned %d entries for %d IDs", len(nodes), len(w.items)))
	} else {
		for i := range w.items {
			node(fmt.Sprintf("nodes[%d]", i), i, nodes[i])
		}
	}
	for i := range w.items {
		node(fmt.Sprintf("node(%s)", w.items[i].ID), i, data[fmt.Sprintf("n%d", i)])
	}
	return diffs
}

// propStats counts what a run checked, so that a run that checks nothing
// shows.
type propStats struct{ hidden, withoutContent, visible int }

func (s *propStats) count(row, content bool) {
	switch {
	case !row:
		s.hidden++
	case !content:
		s.withoutContent++
	default:
		s.visible++
	}
}

// kindOf reduces a difference to its kind for the summary: the text
// before the first ID or value.
func kindOf(d string) string {
	if i := strings.IndexAny(d, "[0123456789"); i > 0 {
		d = d[:i]
	}
	return strings.TrimSpace(d)
}

// mustField returns a field of a JSON object, or null.
func mustField(obj json.RawMessage, name string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil || m[name] == nil {
		return []byte("null")
	}
	return m[name]
}

// TestPropertyVisibilityMatchesTheRules draws random worlds and checks that
// every viewer sees exactly what the rules give it. The seed is logged;
// set PORTAL_PROPERTY_SEED to replay a run, PORTAL_PROPERTY_CASES to run
// more cases.
func TestPropertyVisibilityMatchesTheRules(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envPropertySeed); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", envPropertySeed, s, err)
		}
		seed = v
	}
	cases := 1000
	if s := os.Getenv(envPropertyCases); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("%s=%q: want a positive number", envPropertyCases, s)
		}
		cases = v
	}
	t.Logf("seed %d on %s (replay with %s=%d)", seed, storetest.Engine(), envPropertySeed, seed)

	// One document reads every item every way, by one alias per item, and
	// costs more than a client's may: the limits are not under test here.
	e := newEnvWith(t, func(string) config.Config {
		return config.Config{MaxQueryAliases: 1000, MaxQueryComplexity: 100_000}
	})
	w := buildPropertyWorld(t, e)
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	start := time.Now()
	failing := 0
	var stats propStats
	kinds := map[string]int{}
	for n := range cases {
		c := w.draw(r)
		w.apply(t, c)
		if diffs := w.check(t, c, &stats); len(diffs) > 0 {
			failing++
			if len(diffs) > 12 {
				diffs = append(diffs[:12], fmt.Sprintf("... and %d more", len(diffs)-12))
			}
			for _, d := range diffs {
				kinds[c.Viewer.String()+": "+kindOf(d)]++
			}
			if failing <= 5 {
				t.Errorf("case %d (seed %d): %s\n%s\nworld:\n%s", n, seed, c.Viewer, strings.Join(diffs, "\n"), c.describe(w.items))
			}
		}
	}
	if failing > 0 {
		var summary []string
		for k, n := range kinds {
			summary = append(summary, fmt.Sprintf("%6d  %s", n, k))
		}
		slices.Sort(summary)
		t.Errorf("%d of %d cases differ from the rules (first 5 above, seed %d); differences by viewer and kind:\n%s",
			failing, cases, seed, strings.Join(summary, "\n"))
	}
	t.Logf("%d cases in %v: %d answers hidden, %d visible without guarded content, %d visible",
		cases, time.Since(start).Round(time.Millisecond), stats.hidden, stats.withoutContent, stats.visible)
	if stats.hidden == 0 || stats.withoutContent == 0 || stats.visible == 0 {
		t.Errorf("the run never exercised one of hidden, visible without content, visible")
	}
}
