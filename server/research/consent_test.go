package research_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/researchconsent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
)

func TestConsentWho(t *testing.T) {
	w := newWorld(t)
	st := w.study("Who")
	alice, bob := w.bare(1), w.bare(2)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"the patient at P9 joins and leaves", w.patientCtx(alice), nil},
		{"the patient below P9 is told to verify their identity", w.ownerOf(alice, "P5"), access.ErrIdentityLevelTooLow},
		{"a carer with every label is refused", w.carerOf(alice), access.ErrDenied},
		{"a clinician is refused", w.member(w.trust, access.RoleClinician), access.ErrDenied},
		{"the study's researcher is refused", w.researcher(), access.ErrDenied},
		{"another patient is refused", w.patientCtx(bob), access.ErrDenied},
		{"signed out is refused", context.Background(), access.ErrNoViewer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.svc.Consent(tc.ctx, alice, st.ID, []category.Category{category.General})
			check(t, err, tc.want)
			_, err = w.svc.Withdraw(tc.ctx, alice, st.ID)
			check(t, err, tc.want)
		})
	}
}

func TestConsentCategories(t *testing.T) {
	w := newWorld(t)
	st := w.study("Labels")
	alice := w.bare(1)
	g, m, sx, sc, r, p := category.General, category.MentalHealth, category.SexualHealth, category.SocialCare, category.Restricted, category.Private
	for _, tc := range []struct {
		name string
		in   []category.Category
		want []category.Category
		err  error
	}{
		{"GENERAL alone", []category.Category{g}, []category.Category{g}, nil},
		{"every label but PRIVATE, in a fixed order", []category.Category{r, sc, sx, m, g}, []category.Category{g, m, sx, sc, r}, nil},
		{"a label given twice counts once", []category.Category{m, g, m}, []category.Category{g, m}, nil},
		{"no label is refused", nil, nil, graph.ErrBadInput},
		{"without GENERAL is refused", []category.Category{m}, nil, graph.ErrBadInput},
		{"PRIVATE is never used for research", []category.Category{g, p}, nil, graph.ErrBadInput},
		{"an unknown label is refused", []category.Category{g, "SECRET"}, nil, graph.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := w.svc.Consent(w.patientCtx(alice), alice, st.ID, tc.in)
			check(t, err, tc.err)
			if tc.err != nil {
				return
			}
			if !slices.Equal(ps.Consent.Categories, tc.want) {
				t.Errorf("categories %v, want %v", ps.Consent.Categories, tc.want)
			}
		})
	}
}

func TestConsentLifecycle(t *testing.T) {
	w := newWorld(t)
	st := w.study("Lifecycle")
	alice := w.bare(1)
	ctx := w.patientCtx(alice)
	first := w.now

	ps, err := w.svc.Consent(ctx, alice, st.ID, []category.Category{category.General})
	w.must(err)
	if c := ps.Consent; c == nil || !c.ConsentedAt.Equal(first) || c.WithdrawnAt != nil || ps.Study.ID != st.ID || ps.Study.PseudonymKey != nil {
		t.Fatalf("first consent %+v", ps)
	}

	w.now = w.now.Add(time.Hour)
	ps, err = w.svc.Consent(ctx, alice, st.ID, []category.Category{category.General, category.MentalHealth})
	w.must(err)
	if c := ps.Consent; !c.ConsentedAt.Equal(w.now) || len(c.Categories) != 2 {
		t.Fatalf("a changed consent %+v", c)
	}

	w.now = w.now.Add(time.Hour)
	left := w.now
	ps, err = w.svc.Withdraw(ctx, alice, st.ID)
	w.must(err)
	if c := ps.Consent; c.WithdrawnAt == nil || !c.WithdrawnAt.Equal(left) {
		t.Fatalf("withdrawal %+v", c)
	}

	t.Run("withdrawing again changes nothing", func(t *testing.T) {
		w.now = w.now.Add(time.Hour)
		ps, err := w.svc.Withdraw(ctx, alice, st.ID)
		w.must(err)
		if c := ps.Consent; c.WithdrawnAt == nil || !c.WithdrawnAt.Equal(left) {
			t.Fatalf("second withdrawal %+v", c)
		}
	})

	t.Run("joining again starts a new consent in the same row", func(t *testing.T) {
		w.now = w.now.Add(time.Hour)
		ps, err := w.svc.Consent(ctx, alice, st.ID, []category.Category{category.General})
		w.must(err)
		if c := ps.Consent; c.WithdrawnAt != nil || !c.ConsentedAt.Equal(w.now) || !slices.Equal(c.Categories, []category.Category{category.General}) {
			t.Fatalf("re-consent %+v", c)
		}
		n, err := w.client.ResearchConsent.Query().Where(researchconsent.PatientID(alice)).Count(w.sys())
		w.must(err)
		if n != 1 {
			t.Errorf("%d consent rows, want 1", n)
		}
	})

	t.Run("the audit log holds the history", func(t *testing.T) {
		events, err := w.client.AuditEvent.Query().
			Where(auditevent.PatientID(alice)).
			Order(ent.Asc(auditevent.FieldAt), ent.Asc(auditevent.FieldID)).
			All(w.sys())
		w.must(err)
		var got []string
		for _, e := range events {
			got = append(got, e.Action+" "+deref(e.Reason).(string))
		}
		study := "study " + string(st.ID)
		want := []string{
			"RESEARCH_CONSENT " + study + "; categories GENERAL",
			"RESEARCH_CONSENT " + study + "; categories GENERAL, MENTAL_HEALTH",
			"RESEARCH_WITHDRAWAL " + study,
			"RESEARCH_CONSENT " + study + "; categories GENERAL",
		}
		if !slices.Equal(got, want) {
			t.Errorf("audit\n got %q\nwant %q", got, want)
		}
	})

	t.Run("a study that does not exist is not found", func(t *testing.T) {
		_, err := w.svc.Consent(ctx, alice, pulid.New("st"), []category.Category{category.General})
		check(t, err, errNotFound)
		_, err = w.svc.Withdraw(ctx, alice, pulid.New("st"))
		check(t, err, errNotFound)
	})

	t.Run("leaving a study never joined changes nothing", func(t *testing.T) {
		other := w.study("Other")
		ps, err := w.svc.Withdraw(ctx, alice, other.ID)
		w.must(err)
		if ps.Consent != nil || ps.Study.ID != other.ID {
			t.Errorf("answer %+v", ps)
		}
	})
}

func TestPatientStudies(t *testing.T) {
	w := newWorld(t)
	alice, bob := w.bare(1), w.bare(2)
	old := w.study("Old")
	w.consent(alice, old.ID, category.General, category.SocialCare)
	_, err := w.svc.CloseStudy(w.researcher(), old.ID)
	w.must(err)
	w.now = w.now.Add(time.Minute)
	gone := w.study("Gone")
	_, err = w.svc.CloseStudy(w.researcher(), gone.ID)
	w.must(err)
	w.now = w.now.Add(time.Minute)
	open := w.study("Open")

	t.Run("the patient sees open studies and those they joined, newest first", func(t *testing.T) {
		list, err := w.svc.PatientStudies(w.patientCtx(alice), patientOf(alice))
		w.must(err)
		if len(list) != 2 || list[0].Study.ID != open.ID || list[1].Study.ID != old.ID {
			t.Fatalf("studies %+v", list)
		}
		if list[0].Consent != nil {
			t.Errorf("consent to a study never joined: %+v", list[0].Consent)
		}
		if c := list[1].Consent; c == nil || !slices.Equal(c.Categories, []category.Category{category.General, category.SocialCare}) {
			t.Errorf("consent %+v", c)
		}
		for _, ps := range list {
			if ps.Study.PseudonymKey != nil {
				t.Error("the answer carries the pseudonym key")
			}
		}
	})
	t.Run("another patient sees only the open study", func(t *testing.T) {
		list, err := w.svc.PatientStudies(w.patientCtx(bob), patientOf(bob))
		w.must(err)
		if len(list) != 1 || list[0].Study.ID != open.ID {
			t.Fatalf("studies %+v", list)
		}
	})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"a carer gets an empty list", w.carerOf(alice), nil},
		{"a clinician gets an empty list", w.member(w.trust, access.RoleClinician), nil},
		{"a researcher gets an empty list", w.researcher(), nil},
		{"the patient below P9 is told to verify their identity", w.ownerOf(alice, "P5"), access.ErrIdentityLevelTooLow},
		{"signed out is refused", context.Background(), access.ErrNoViewer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := w.svc.PatientStudies(tc.ctx, patientOf(alice))
			check(t, err, tc.want)
			if len(list) != 0 {
				t.Errorf("studies %+v", list)
			}
		})
	}
}
