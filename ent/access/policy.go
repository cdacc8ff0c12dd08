package access

import (
	"context"
	"errors"

	entgo "entgo.io/ent"
	"entgo.io/ent/entql"

	"github.com/patientportal/portal/ent/privacy"
)

// ErrDenied is returned for a write the viewer may not make. Reads are never
// denied with an error for a signed-in viewer: hidden rows are filtered out.
var ErrDenied = errors.New("access denied")

// ErrNoViewer is returned for any query made without a viewer.
var ErrNoViewer = errors.New("no viewer")

// ErrIdentityLevelTooLow is returned when a patient whose sign-in proved
// less than P9 asks for their own clinical data.
var ErrIdentityLevelTooLow = errors.New("identity not verified to the level clinical data needs")

// SystemContext returns a context in which the service itself acts: signing
// in, resolving viewers, loading demo data. It bypasses every policy, so it
// never carries a request's reads.
func SystemContext(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// Column names shared by the patient-owned tables.
const (
	colID        = "id"
	colPatientID = "patient_id"
	colCategory  = "category"
)

// matchNothing is a predicate no row satisfies: IDs are never null.
var matchNothing = entql.FieldNil(colID)

// or joins predicates; entql.Or needs at least two.
func or(ps []entql.P) entql.P {
	switch len(ps) {
	case 0:
		return matchNothing
	case 1:
		return ps[0]
	default:
		return entql.Or(ps[0], ps[1], ps[2:]...)
	}
}

// in is a column-IN predicate over string-like values, or matchNothing.
func in[T ~string](col string, values []T) entql.P {
	if len(values) == 0 {
		return matchNothing
	}
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = string(v)
	}
	return entql.FieldIn(col, vs...)
}

// recordPredicate matches the items the viewer may see: a plain predicate
// on (patient_id, category) so the database uses its index. The viewer's own
// record counts only at identity level P9.
func recordPredicate(v *Viewer) entql.P {
	var ps []entql.P
	if own := v.OwnPatientIDs(); len(own) > 0 && v.IdentityLevel == IdentityVerified {
		ps = append(ps, in(colPatientID, own))
	}
	for _, g := range v.Grants {
		if g.Owner {
			continue
		}
		ps = append(ps, entql.And(
			entql.FieldEQ(colPatientID, string(g.PatientID)),
			in(colCategory, g.Covers()),
		))
	}
	return or(ps)
}

// filter adapts a predicate builder into a query rule: no viewer is denied;
// otherwise the filter is applied and the rule allows, so that the query
// runs with it (a stranger's filter simply matches nothing).
func filter(build func(*Viewer) entql.P) privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v := FromContext(ctx)
		if v == nil {
			return privacy.Denyf("%w", ErrNoViewer)
		}
		f.Where(build(v))
		return privacy.Allow
	})
}

// systemWrites is the mutation policy until a capability adds its own
// rules: only the service itself (SystemContext) writes.
var systemWrites = privacy.MutationPolicy{privacy.AlwaysDenyRule()}

// RecordPolicy guards the clinical and patient-recorded items.
func RecordPolicy() privacy.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{identityLevelRule, filter(recordPredicate), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// identityLevelRule tells a patient signed in below P9, who holds no other
// grant, why their clinical data is closed, rather than showing it empty.
var identityLevelRule = privacy.QueryRuleFunc(func(ctx context.Context, _ entgo.Query) error {
	v := FromContext(ctx)
	if v == nil || v.IdentityLevel == IdentityVerified || len(v.OwnPatientIDs()) == 0 {
		return privacy.Skip
	}
	for _, g := range v.Grants {
		if !g.Owner {
			return privacy.Skip
		}
	}
	return privacy.Denyf("%w", ErrIdentityLevelTooLow)
})

// PatientPolicy guards patient records: visible to whoever holds a grant.
func PatientPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return in(colID, v.PatientIDs())
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// OwnerPolicy guards patient-owned rows that only the patient reads
// (invitations, research consents, organisation links, the access log).
func OwnerPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return in(colPatientID, v.OwnPatientIDs())
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// InvitationPolicy guards invitations: the patient sees those of their
// record, an organisation's admins those their organisation sent.
func InvitationPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return or([]entql.P{
				in(colPatientID, v.OwnPatientIDs()),
				in("organisation_id", v.OrganisationsWithRole(RoleAdmin)),
			})
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// SharePolicy guards shares: the patient sees every share of their record,
// a grantee sees the shares made to them.
func SharePolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return or([]entql.P{
				in(colPatientID, v.OwnPatientIDs()),
				entql.FieldEQ("grantee_account_id", string(v.AccountID)),
			})
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// AccountPolicy lets a viewer read only their own account.
func AccountPolicy() privacy.Policy {
	return ownedBy(colID)
}

// MembershipPolicy lets a viewer read only their own memberships.
func MembershipPolicy() privacy.Policy {
	return ownedBy("account_id")
}

// NotificationPolicy lets a viewer read only their own notifications, and
// only about what they may still see.
func NotificationPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return entql.And(
				entql.FieldEQ("recipient_account_id", string(v.AccountID)),
				recordPredicate(v),
			)
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// ReferencePolicy guards reference data (organisations, research studies):
// readable by any signed-in viewer, written by the service.
func ReferencePolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{privacy.QueryRuleFunc(func(ctx context.Context, _ entgo.Query) error {
			if FromContext(ctx) == nil {
				return privacy.Denyf("%w", ErrNoViewer)
			}
			return privacy.Allow
		})},
		Mutation: systemWrites,
	}
}

// SystemPolicy guards what only the service reads and writes (sessions).
func SystemPolicy() privacy.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

func ownedBy(col string) privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return entql.FieldEQ(col, string(v.AccountID))
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// SessionPolicy lets a viewer list only their own sessions.
func SessionPolicy() privacy.Policy {
	return ownedBy("account_id")
}
