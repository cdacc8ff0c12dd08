package research_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
)

func TestCreateStudy(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		in   model.CreateResearchStudyInput
		want error
	}{
		{"a researcher of a research unit defines a study", w.researcher(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "  Diabetes outcomes  ", Description: ptr("Two years of readings.")}, nil},
		{"a title of 200 characters is accepted", w.researcher(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: strings.Repeat("é", 200)}, nil},
		{"a description of 5,000 characters is accepted", w.researcher(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "Long", Description: ptr(strings.Repeat("é", 5000))}, nil},
		{"signed out is refused", context.Background(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "X"}, access.ErrNoViewer},
		{"an analyst of the unit is refused", w.member(w.unit, access.RoleAnalyst),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "X"}, access.ErrDenied},
		{"a researcher of another unit is refused", w.member(w.other, access.RoleResearcher),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "X"}, access.ErrDenied},
		{"a clinician is refused", w.member(w.trust, access.RoleClinician),
			model.CreateResearchStudyInput{OrganisationID: w.trust, Title: "X"}, access.ErrDenied},
		{"a researcher at a trust cannot define studies there", w.member(w.trust, access.RoleResearcher),
			model.CreateResearchStudyInput{OrganisationID: w.trust, Title: "X"}, graph.ErrBadInput},
		{"a blank title is refused", w.researcher(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "   "}, graph.ErrBadInput},
		{"a title of 201 characters is refused", w.researcher(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: strings.Repeat("a", 201)}, graph.ErrBadInput},
		{"a description over 5,000 characters is refused", w.researcher(),
			model.CreateResearchStudyInput{OrganisationID: w.unit, Title: "X", Description: ptr(strings.Repeat("a", 5001))}, graph.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := w.svc.CreateStudy(tc.ctx, tc.in)
			check(t, err, tc.want)
			if tc.want != nil {
				return
			}
			if !st.Open || st.OrganisationID != tc.in.OrganisationID || st.Title != strings.TrimSpace(tc.in.Title) {
				t.Errorf("study %+v", st)
			}
			if st.PseudonymKey != nil {
				t.Error("the answer carries the pseudonym key")
			}
		})
	}
}

func TestStudyKeys(t *testing.T) {
	w := newWorld(t)
	a, b := w.study("A"), w.study("B")
	ka, kb := w.storedKey(a.ID), w.storedKey(b.ID)
	if len(ka) != 32 || len(kb) != 32 {
		t.Fatalf("key lengths %d and %d, want 32", len(ka), len(kb))
	}
	if bytes.Equal(ka, kb) || bytes.Equal(ka, make([]byte, 32)) {
		t.Error("keys are not fresh random bytes")
	}
	events, err := w.client.AuditEvent.Query().Where(auditevent.Action("RESEARCH_STUDY_CREATED")).All(w.sys())
	w.must(err)
	if len(events) != 2 {
		t.Fatalf("%d creation events, want 2", len(events))
	}
	for _, e := range events {
		if e.Reason == nil || *e.Reason != "study "+string(a.ID) && *e.Reason != "study "+string(b.ID) {
			t.Errorf("event reason %v", e.Reason)
		}
	}
}

func TestStudies(t *testing.T) {
	w := newWorld(t)
	mine := w.study("Mine")
	w.now = w.now.Add(time.Minute)
	theirs, err := w.svc.CreateStudy(w.member(w.other, access.RoleResearcher), model.CreateResearchStudyInput{OrganisationID: w.other, Title: "Theirs"})
	w.must(err)
	both := w.as(&access.Viewer{Memberships: []access.Membership{
		{OrganisationID: w.unit, Role: access.RoleResearcher}, {OrganisationID: w.other, Role: access.RoleResearcher},
	}})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want []pulid.ID
	}{
		{"a researcher sees their unit's studies", w.researcher(), []pulid.ID{mine.ID}},
		{"a researcher of two units sees both, newest first", both, []pulid.ID{theirs.ID, mine.ID}},
		{"an analyst of the unit sees none", w.member(w.unit, access.RoleAnalyst), nil},
		{"a clinician sees none", w.member(w.trust, access.RoleClinician), nil},
		{"a patient sees none", w.patientCtx(w.bare(1)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.svc.Studies(tc.ctx)
			w.must(err)
			var ids []pulid.ID
			for _, st := range got {
				ids = append(ids, st.ID)
				if st.PseudonymKey != nil {
					t.Error("the answer carries the pseudonym key")
				}
			}
			if strings.Join(strs(ids), ",") != strings.Join(strs(tc.want), ",") {
				t.Errorf("studies %v, want %v", ids, tc.want)
			}
		})
	}
	_, err = w.svc.Studies(context.Background())
	check(t, err, access.ErrNoViewer)
}

func TestCloseStudy(t *testing.T) {
	w := newWorld(t)
	st := w.study("Closing")
	alice, bob := w.bare(1), w.bare(2)
	w.consent(alice, st.ID, category.General)

	_, err := w.svc.CloseStudy(w.member(w.other, access.RoleResearcher), st.ID)
	check(t, err, access.ErrDenied)
	_, err = w.svc.CloseStudy(w.patientCtx(alice), st.ID)
	check(t, err, access.ErrDenied)
	_, err = w.svc.CloseStudy(w.researcher(), pulid.New("st"))
	check(t, err, errNotFound)

	closed, err := w.svc.CloseStudy(w.researcher(), st.ID)
	w.must(err)
	if closed.Open || closed.PseudonymKey != nil {
		t.Fatalf("closed study %+v", closed)
	}
	again, err := w.svc.CloseStudy(w.researcher(), st.ID)
	w.must(err)
	if again.Open {
		t.Error("closing twice reopened the study")
	}

	_, err = w.svc.Consent(w.patientCtx(bob), bob, st.ID, []category.Category{category.General})
	check(t, err, graph.ErrBadInput)
	_, err = w.svc.Consent(w.patientCtx(alice), alice, st.ID, []category.Category{category.General, category.MentalHealth})
	check(t, err, graph.ErrBadInput)

	// The patient who joined still sees it, and may leave; nobody else sees it.
	list, err := w.svc.PatientStudies(w.patientCtx(alice), patientOf(alice))
	w.must(err)
	if len(list) != 1 || list[0].Study.ID != st.ID || list[0].Consent == nil {
		t.Fatalf("Alice's studies %+v", list)
	}
	list, err = w.svc.PatientStudies(w.patientCtx(bob), patientOf(bob))
	w.must(err)
	if len(list) != 0 {
		t.Fatalf("Bob sees a closed study: %+v", list)
	}
	left, err := w.svc.Withdraw(w.patientCtx(alice), alice, st.ID)
	w.must(err)
	if left.Consent == nil || left.Consent.WithdrawnAt == nil {
		t.Fatalf("withdrawal from a closed study: %+v", left.Consent)
	}
}

func TestCohortSize(t *testing.T) {
	w := newWorld(t)
	st := w.study("Cohort")
	var patients []pulid.ID
	for i := range 13 {
		patients = append(patients, w.bare(i))
	}
	joined := 0
	join := func(n int) {
		for ; joined < n; joined++ {
			w.consent(patients[joined], st.ID, category.General)
		}
	}
	for _, tc := range []struct {
		name       string
		joined     int
		value      *int
		suppressed bool
	}{
		{"no consent shows 0: it says nothing about anyone", 0, ptr(0), false},
		{"one is suppressed", 1, nil, true},
		{"nine are suppressed", 9, nil, true},
		{"ten are shown", 10, ptr(10), false},
		{"twelve round to ten", 12, ptr(10), false},
		{"thirteen round to fifteen", 13, ptr(15), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			join(tc.joined)
			f, err := w.svc.CohortSize(w.researcher(), st)
			w.must(err)
			if f.Suppressed != tc.suppressed || (f.Value == nil) != (tc.value == nil) || f.Value != nil && *f.Value != *tc.value {
				t.Errorf("figure %v/%v, want %v/%v", deref(f.Value), f.Suppressed, deref(tc.value), tc.suppressed)
			}
		})
	}

	t.Run("withdrawn patients are not counted", func(t *testing.T) {
		for _, p := range patients[:4] {
			_, err := w.svc.Withdraw(w.patientCtx(p), p, st.ID)
			w.must(err)
		}
		f, err := w.svc.CohortSize(w.researcher(), st)
		w.must(err)
		if !f.Suppressed || f.Value != nil {
			t.Errorf("9 left: figure %v/%v, want suppressed", deref(f.Value), f.Suppressed)
		}
	})

	for name, ctx := range map[string]context.Context{
		"a researcher of another unit": w.member(w.other, access.RoleResearcher),
		"an analyst of the unit":       w.member(w.unit, access.RoleAnalyst),
		"a clinician":                  w.member(w.trust, access.RoleClinician),
		"a patient in the cohort":      w.patientCtx(patients[5]),
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			_, err := w.svc.CohortSize(ctx, st)
			check(t, err, access.ErrDenied)
		})
	}
}

func TestExportURL(t *testing.T) {
	w := newWorld(t)
	st := w.study("Export")
	u, err := w.svc.ExportURL(w.researcher(), st)
	w.must(err)
	if u == nil || *u != "https://portal.example/research/studies/"+string(st.ID)+"/export" {
		t.Errorf("export URL %v", deref(u))
	}
	for name, ctx := range map[string]context.Context{
		"a researcher of another unit": w.member(w.other, access.RoleResearcher),
		"a patient":                    w.patientCtx(w.bare(1)),
	} {
		u, err := w.svc.ExportURL(ctx, st)
		if err != nil || u != nil {
			t.Errorf("%s: %v, %v", name, deref(u), err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func strs(ids []pulid.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}
