package sharing

import (
	"context"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/auth"
	portalmail "github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/notify"
)

// invitationTTL is how long a share invitation link stays valid, as for
// registration invitations.
const invitationTTL = 14 * 24 * time.Hour

// maxEmailLen is the longest address SMTP allows, and the column's limit.
const maxEmailLen = 254

// labels are the categories a share grants beyond GENERAL.
type labels struct{ mentalHealth, sexualHealth, socialCare bool }

// grantedLabels validates the categories asked for: GENERAL is implicit,
// RESTRICTED follows from all three others and PRIVATE is never granted.
func grantedLabels(cs []category.Category) (labels, error) {
	var l labels
	for _, c := range cs {
		switch c {
		case category.General:
		case category.MentalHealth:
			l.mentalHealth = true
		case category.SexualHealth:
			l.sexualHealth = true
		case category.SocialCare:
			l.socialCare = true
		case category.Restricted:
			return labels{}, invalid("RESTRICTED cannot be granted on its own: grant MENTAL_HEALTH, SEXUAL_HEALTH and SOCIAL_CARE")
		case category.Private:
			return labels{}, invalid("PRIVATE items are never shared")
		default:
			return labels{}, invalid("%q is not a category", string(c))
		}
	}
	return l, nil
}

// shareEmail validates and normalises a grantee's address.
func shareEmail(email string) (string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" || len(addr.Address) > maxEmailLen {
		return "", invalid("not a valid email address")
	}
	return auth.NormaliseEmail(addr.Address), nil
}

// checkExpiry refuses an expiry that has already passed.
func checkExpiry(expiresAt *time.Time, now time.Time) (*time.Time, error) {
	if expiresAt == nil {
		return nil, nil
	}
	t := expiresAt.UTC()
	if !t.After(now) {
		return nil, invalid("expiresAt must be in the future")
	}
	return &t, nil
}

// target is who a share is with: an email or an organisation.
type target struct {
	email        string
	organisation pulid.ID
}

// shareTarget checks that exactly one grantee is named and that the
// relationship fits it.
func shareTarget(in model.ShareRecordInput) (target, error) {
	hasEmail := in.Email != nil && strings.TrimSpace(*in.Email) != ""
	hasOrg := in.OrganisationID != nil && *in.OrganisationID != ""
	switch {
	case hasEmail == hasOrg:
		return target{}, invalid("give exactly one of email and organisationId")
	case hasOrg:
		if in.Relationship != share.RelationshipORGANISATION {
			return target{}, invalid("a share with an organisation has the relationship ORGANISATION")
		}
		if _, err := pulid.TableOf(*in.OrganisationID); err != nil {
			return target{}, invalid("organisationId is not a valid ID")
		}
		return target{organisation: *in.OrganisationID}, nil
	}
	if in.Relationship == share.RelationshipORGANISATION {
		return target{}, invalid("a share with a person cannot have the relationship ORGANISATION")
	}
	email, err := shareEmail(*in.Email)
	if err != nil {
		return target{}, err
	}
	return target{email: email}, nil
}

// mayShare decides whether v may share the record: its owner (verified to
// P9, since a share opens clinical data), or a clinician of an organisation
// linked to the record, who may only add a carer or family member. It
// returns the organisation a clinician acts for. A record the viewer has no
// such tie to answers ErrNotFound, as a missing one does.
func (s *Service) mayShare(ctx context.Context, v *access.Viewer, patientID pulid.ID, rel share.Relationship) (*pulid.ID, error) {
	if owns(v, patientID) {
		if v.IdentityLevel != access.IdentityVerified {
			return nil, access.ErrIdentityLevelTooLow
		}
		return nil, nil
	}
	orgs := v.OrganisationsWithRole(access.RoleClinician)
	if len(orgs) == 0 {
		return nil, ErrNotFound
	}
	link, err := s.client.PatientOrganisation.Query().
		Where(patientorganisation.PatientID(patientID), patientorganisation.OrganisationIDIn(orgs...)).
		First(access.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if rel != share.RelationshipCARER && rel != share.RelationshipFAMILY {
		return nil, access.ErrDenied
	}
	return &link.OrganisationID, nil
}

// ShareRecord shares a record with a person, by an emailed invitation that
// is the same whether or not the address has an account here, or with an
// organisation, at once.
func (s *Service) ShareRecord(ctx context.Context, in model.ShareRecordInput) (*ent.Share, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if err := expectID(in.PatientID, patient.Table); err != nil {
		return nil, err
	}
	granted, err := grantedLabels(in.Categories)
	if err != nil {
		return nil, err
	}
	expires, err := checkExpiry(in.ExpiresAt, s.now())
	if err != nil {
		return nil, err
	}
	to, err := shareTarget(in)
	if err != nil {
		return nil, err
	}
	actorOrg, err := s.mayShare(ctx, v, in.PatientID, in.Relationship)
	if err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	pt, err := s.client.Patient.Get(sys, in.PatientID)
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if pt.SharingDisabledAt != nil {
		return nil, ErrSharingDisabled
	}
	if to.email != "" && actorOrg == nil {
		self, err := s.client.Account.Get(sys, v.AccountID)
		if err != nil {
			return nil, err
		}
		if self.Email == to.email {
			return nil, invalid("you cannot share your record with yourself")
		}
	}
	if to.organisation != "" {
		if err := s.checkOrganisationShare(ctx, pt.ID, to.organisation); err != nil {
			return nil, err
		}
	}

	var created *ent.Share
	err = s.withTx(sys, func(tx *ent.Client) error {
		now := s.now()
		c := tx.Share.Create().
			SetPatientID(pt.ID).
			SetRelationship(in.Relationship).
			SetMentalHealth(granted.mentalHealth).
			SetSexualHealth(granted.sexualHealth).
			SetSocialCare(granted.socialCare).
			SetNillableExpiresAt(expires).
			SetCreatedAt(now).
			SetUpdatedAt(now)
		var token string
		if to.email != "" {
			t, hash, err := auth.NewToken()
			if err != nil {
				return err
			}
			token = t
			inv, err := tx.Invitation.Create().
				SetPatientID(pt.ID).
				SetPurpose(invitation.PurposeSHARE).
				SetEmail(to.email).
				SetTokenHash(hash).
				SetInvitedByAccountID(v.AccountID).
				SetLastSentAt(now).
				SetExpiresAt(now.Add(invitationTTL)).
				SetCreatedAt(now).
				SetUpdatedAt(now).
				Save(sys)
			if err != nil {
				return err
			}
			c.SetInvitationID(inv.ID)
		} else {
			c.SetGranteeOrganisationID(to.organisation).SetAcceptedAt(now)
		}
		var err error
		if created, err = c.Save(sys); err != nil {
			return err
		}
		if err := s.audit(sys, tx, v, event{action: "SHARE_CREATED", patient: &pt.ID, organisation: actorOrg, share: &created.ID}); err != nil {
			return err
		}
		if pt.AccountID != nil {
			n := notify.Note{Kind: notification.KindSHARE_OFFERED, Patient: pt.ID, Category: category.General, Subject: &created.ID}
			if err := s.notify(sys, tx, n, *pt.AccountID); err != nil {
				return err
			}
		}
		if to.email != "" {
			return s.sendInvitation(sys, tx, to.email, token)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "share created", "share", created.ID, "relationship", string(created.Relationship))
	return s.readShare(ctx, created)
}

// checkOrganisationShare refuses an unknown organisation and a second live
// share with the same one: the patient changes the one they have.
func (s *Service) checkOrganisationShare(ctx context.Context, patientID, org pulid.ID) error {
	sys := access.SystemContext(ctx)
	exists, err := s.client.Organisation.Query().Where(organisation.ID(org)).Exist(sys)
	if err != nil {
		return err
	}
	if !exists {
		return invalid("no such organisation")
	}
	live, err := s.client.Share.Query().Where(
		share.PatientID(patientID),
		share.GranteeOrganisationID(org),
		share.RevokedAtIsNil(),
		share.Or(share.ExpiresAtIsNil(), share.ExpiresAtGT(s.now())),
	).Exist(sys)
	if err != nil {
		return err
	}
	if live {
		return invalid("this record is already shared with that organisation: change that share instead")
	}
	return nil
}

// sendInvitation queues the share invitation email (see auth.InvitationEmail).
func (s *Service) sendInvitation(ctx context.Context, tx *ent.Client, to, token string) error {
	return portalmail.Enqueue(ctx, tx, "INVITATION_SHARE", auth.InvitationEmail(s.cfg.PublicURL, invitation.PurposeSHARE, to, token))
}

// readShare reads a share back as the viewer. A clinician who added a carer
// cannot read the share under its policy; they get the row they wrote.
func (s *Service) readShare(ctx context.Context, written *ent.Share) (*ent.Share, error) {
	sh, err := s.client.Share.Get(ctx, written.ID)
	if ent.IsNotFound(err) {
		return written, nil
	}
	return sh, err
}

// ownShare reads a share the viewer may change: one of a record they own.
// A share they cannot read answers ErrNotFound; a grantee, who can read
// their own share, is denied.
func (s *Service) ownShare(ctx context.Context, v *access.Viewer, id pulid.ID) (*ent.Share, error) {
	if err := expectID(id, share.Table); err != nil {
		return nil, err
	}
	sh, err := s.client.Share.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !owns(v, sh.PatientID) {
		return nil, access.ErrDenied
	}
	return sh, nil
}

// UpdateShare changes a share's categories or expiry; the change applies
// from the grantee's next request, when their grants are loaded again.
func (s *Service) UpdateShare(ctx context.Context, id pulid.ID, in model.UpdateShareInput) (*ent.Share, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	sh, err := s.ownShare(ctx, v, id)
	if err != nil {
		return nil, err
	}
	// Widening a share opens clinical data, as creating one does.
	if v.IdentityLevel != access.IdentityVerified {
		return nil, access.ErrIdentityLevelTooLow
	}
	if sh.RevokedAt != nil {
		return nil, invalid("this share has been revoked: share the record again instead")
	}
	clear := in.ClearExpiry != nil && *in.ClearExpiry
	if clear && in.ExpiresAt != nil {
		return nil, invalid("give expiresAt or clearExpiry, not both")
	}
	expires, err := checkExpiry(in.ExpiresAt, s.now())
	if err != nil {
		return nil, err
	}
	var granted labels
	if in.Categories != nil {
		if granted, err = grantedLabels(in.Categories); err != nil {
			return nil, err
		}
	}
	sys := access.SystemContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		u := tx.Share.UpdateOneID(sh.ID).SetUpdatedAt(s.now())
		if in.Categories != nil {
			u.SetMentalHealth(granted.mentalHealth).SetSexualHealth(granted.sexualHealth).SetSocialCare(granted.socialCare)
		}
		switch {
		case clear:
			u.ClearExpiresAt()
		case expires != nil:
			u.SetExpiresAt(*expires)
		}
		if err := u.Exec(sys); err != nil {
			return err
		}
		if err := s.audit(sys, tx, v, event{action: "SHARE_CHANGED", patient: &sh.PatientID, share: &sh.ID}); err != nil {
			return err
		}
		return s.notifyGrantee(sys, tx, sh, notification.KindSHARE_CHANGED)
	})
	if err != nil {
		return nil, err
	}
	return s.client.Share.Get(ctx, sh.ID)
}

// RevokeShare ends a share at once, and its invitation if still pending.
// Revoking needs no verified identity: it only ever closes access.
func (s *Service) RevokeShare(ctx context.Context, id pulid.ID) (*ent.Share, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	sh, err := s.ownShare(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if sh.RevokedAt != nil {
		return sh, nil
	}
	sys := access.SystemContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		now := s.now()
		if err := tx.Share.UpdateOneID(sh.ID).SetRevokedAt(now).SetUpdatedAt(now).Exec(sys); err != nil {
			return err
		}
		if sh.InvitationID != nil {
			if err := tx.Invitation.Update().
				Where(invitation.ID(*sh.InvitationID), invitation.AcceptedAtIsNil(), invitation.RevokedAtIsNil()).
				SetRevokedAt(now).SetUpdatedAt(now).
				Exec(sys); err != nil {
				return err
			}
		}
		if err := s.audit(sys, tx, v, event{action: "SHARE_REVOKED", patient: &sh.PatientID, share: &sh.ID}); err != nil {
			return err
		}
		return s.notifyGrantee(sys, tx, sh, notification.KindSHARE_REVOKED)
	})
	if err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "share revoked", "share", sh.ID)
	return s.client.Share.Get(ctx, sh.ID)
}

// notifyGrantee tells the person a share was accepted by that it changed.
func (s *Service) notifyGrantee(ctx context.Context, tx *ent.Client, sh *ent.Share, kind notification.Kind) error {
	if sh.GranteeAccountID == nil || sh.AcceptedAt == nil {
		return nil
	}
	n := notify.Note{Kind: kind, Patient: sh.PatientID, Category: category.General, Subject: &sh.ID}
	return s.notify(ctx, tx, n, *sh.GranteeAccountID)
}

// ShareGrantee describes who a share is with: the grantee's account once
// accepted, the invited address while pending, or the organisation. Names
// and addresses are given only to the record's owner and to the grantee.
func (s *Service) ShareGrantee(ctx context.Context, sh *ent.Share) (*model.ShareGrantee, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	g := &model.ShareGrantee{}
	if sh.GranteeOrganisationID != nil {
		o, err := s.client.Organisation.Get(sys, *sh.GranteeOrganisationID)
		if err != nil {
			return nil, err
		}
		g.Organisation = &model.Branding{Name: o.Name, LogoURL: o.LogoURL, WelcomeMessage: o.WelcomeMessage}
	}
	grantee := sh.GranteeAccountID != nil && *sh.GranteeAccountID == v.AccountID
	if !owns(v, sh.PatientID) && !grantee {
		return g, nil
	}
	switch {
	case sh.GranteeAccountID != nil:
		a, err := s.client.Account.Get(sys, *sh.GranteeAccountID)
		if err != nil {
			return nil, err
		}
		g.DisplayName, g.Email = &a.DisplayName, &a.Email
	case sh.InvitationID != nil:
		inv, err := s.client.Invitation.Get(sys, *sh.InvitationID)
		if err != nil {
			return nil, err
		}
		g.Email = &inv.Email
	}
	return g, nil
}

// ShareExplanation says which share gives access and what it covers.
func (s *Service) ShareExplanation(_ context.Context, sh *ent.Share) (string, error) {
	return explanation(sh, s.now()), nil
}

// london is where day boundaries and dates shown are reckoned.
var london = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// relationshipWords names a relationship in a sentence.
var relationshipWords = map[share.Relationship]string{
	share.RelationshipCARER:        "Carer",
	share.RelationshipFAMILY:       "Family",
	share.RelationshipPROFESSIONAL: "Professional",
	share.RelationshipORGANISATION: "Organisation",
}

// explanation is the sentence the Sharing view shows for a share at now.
func explanation(sh *ent.Share, now time.Time) string {
	day := func(t time.Time) string { return t.In(london).Format(time.DateOnly) }
	who := relationshipWords[sh.Relationship]
	if who == "" {
		who = "A"
	}
	switch {
	case sh.RevokedAt != nil:
		return who + " share revoked on " + day(*sh.RevokedAt)
	case sh.AcceptedAt == nil:
		return "Invitation sent " + day(sh.CreatedAt) + ", not yet accepted"
	case sh.ExpiresAt != nil && !now.Before(*sh.ExpiresAt):
		return who + " share expired on " + day(*sh.ExpiresAt)
	}
	covers := access.ShareGrant(sh.PatientID, sh.ID, sh.MentalHealth, sh.SexualHealth, sh.SocialCare).Covers()
	text := who + " share since " + day(*sh.AcceptedAt) + ", covering " + list(covers)
	if sh.ExpiresAt != nil {
		text += ", until " + day(*sh.ExpiresAt)
	}
	return text
}

// list joins categories as in a sentence: "A, B and C".
func list(cs []category.Category) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
