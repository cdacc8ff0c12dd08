package sharing

import (
	"errors"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/graph/model"
)

func TestExplanation(t *testing.T) {
	// 1 March is in GMT, 1 July in BST: dates are London's.
	march := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	lateJune := time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC)
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		share ent.Share
		want  string
	}{
		{
			"an active carer share lists what it covers",
			ent.Share{Relationship: share.RelationshipCARER, AcceptedAt: &march, MentalHealth: true},
			"Carer share since 2026-03-01, covering GENERAL and MENTAL_HEALTH",
		},
		{
			"a share of only GENERAL says so",
			ent.Share{Relationship: share.RelationshipFAMILY, AcceptedAt: &march},
			"Family share since 2026-03-01, covering GENERAL",
		},
		{
			"a share of all three labels covers RESTRICTED too",
			ent.Share{Relationship: share.RelationshipPROFESSIONAL, AcceptedAt: &march, MentalHealth: true, SexualHealth: true, SocialCare: true},
			"Professional share since 2026-03-01, covering GENERAL, MENTAL_HEALTH, SEXUAL_HEALTH, SOCIAL_CARE and RESTRICTED",
		},
		{
			"an expiry is given as a London date",
			ent.Share{Relationship: share.RelationshipORGANISATION, AcceptedAt: &march, ExpiresAt: &lateJune, SocialCare: true},
			"Organisation share since 2026-03-01, covering GENERAL and SOCIAL_CARE, until 2026-07-01",
		},
		{
			"a pending share is an invitation not yet accepted",
			ent.Share{Relationship: share.RelationshipCARER, CreatedAt: march},
			"Invitation sent 2026-03-01, not yet accepted",
		},
		{
			"a share past its expiry has expired",
			ent.Share{Relationship: share.RelationshipCARER, AcceptedAt: &march, ExpiresAt: &march},
			"Carer share expired on 2026-03-01",
		},
		{
			"a revoked share says when, even if it was still pending",
			ent.Share{Relationship: share.RelationshipFAMILY, CreatedAt: march, RevokedAt: &lateJune},
			"Family share revoked on 2026-07-01",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := explanation(&tc.share, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGrantedLabels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []category.Category
		want    labels
		invalid bool
	}{
		{"no categories grant GENERAL alone", nil, labels{}, false},
		{"GENERAL is implicit and accepted", []category.Category{category.General}, labels{}, false},
		{"each label is granted", []category.Category{category.MentalHealth, category.SexualHealth, category.SocialCare}, labels{true, true, true}, false},
		{"a repeated label is granted once", []category.Category{category.SocialCare, category.SocialCare}, labels{socialCare: true}, false},
		{"PRIVATE is refused", []category.Category{category.MentalHealth, category.Private}, labels{}, true},
		{"RESTRICTED is refused", []category.Category{category.Restricted}, labels{}, true},
		{"an unknown label is refused", []category.Category{"SECRET"}, labels{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := grantedLabels(tc.in)
			if tc.invalid {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("err = %v, want ErrInvalidInput", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestShareTarget(t *testing.T) {
	org := pulid.New("og")
	bad := pulid.ID("og-not-an-id")
	for _, tc := range []struct {
		name  string
		in    model.ShareRecordInput
		want  target
		valid bool
	}{
		{"an email is normalised", model.ShareRecordInput{Email: ptr(" Dora@Example.ORG "), Relationship: share.RelationshipFAMILY}, target{email: "dora@example.org"}, true},
		{"an organisation needs the ORGANISATION relationship", model.ShareRecordInput{OrganisationID: &org, Relationship: share.RelationshipORGANISATION}, target{organisation: org}, true},
		{"both email and organisation are refused", model.ShareRecordInput{Email: ptr("a@example.org"), OrganisationID: &org, Relationship: share.RelationshipORGANISATION}, target{}, false},
		{"neither is refused", model.ShareRecordInput{Relationship: share.RelationshipCARER}, target{}, false},
		{"a blank email counts as none", model.ShareRecordInput{Email: ptr("  "), Relationship: share.RelationshipCARER}, target{}, false},
		{"a person cannot be an ORGANISATION", model.ShareRecordInput{Email: ptr("a@example.org"), Relationship: share.RelationshipORGANISATION}, target{}, false},
		{"an organisation cannot be a CARER", model.ShareRecordInput{OrganisationID: &org, Relationship: share.RelationshipCARER}, target{}, false},
		{"a malformed organisation ID is refused", model.ShareRecordInput{OrganisationID: &bad, Relationship: share.RelationshipORGANISATION}, target{}, false},
		{"a named address is refused", model.ShareRecordInput{Email: ptr("Dora <dora@example.org>"), Relationship: share.RelationshipCARER}, target{}, false},
		{"not an address is refused", model.ShareRecordInput{Email: ptr("dora"), Relationship: share.RelationshipCARER}, target{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := shareTarget(tc.in)
			if !tc.valid {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("err = %v, want ErrInvalidInput", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestCheckExpiry(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour).In(time.FixedZone("BST", 3600))
	if got, err := checkExpiry(&later, now); err != nil || got.Location() != time.UTC || !got.Equal(later) {
		t.Errorf("a future expiry is kept in UTC: %v, %v", got, err)
	}
	if _, err := checkExpiry(&now, now); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("an expiry of now is refused: %v", err)
	}
	if got, err := checkExpiry(nil, now); got != nil || err != nil {
		t.Errorf("no expiry is none: %v, %v", got, err)
	}
}
