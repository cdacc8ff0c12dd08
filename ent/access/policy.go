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
	colID          = "id"
	colPatientID   = "patient_id"
	colCategory    = "category"
	colSource      = "source_organisation_id"
	colVisibleFrom = "visible_from"
	colNever       = "never_release"
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

// and joins two predicates, either of which may be nil.
func and(x, y entql.P) entql.P {
	switch {
	case x == nil:
		return y
	case y == nil:
		return x
	}
	return entql.And(x, y)
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

// recordRules are the extra conditions a kind of record puts on each way
// of seeing it; nil means none.
type recordRules struct {
	owner  entql.P
	shared entql.P
	// noSource is set for tables without a source organisation.
	noSource bool
}

// recordPredicate matches the items the viewer may see, as a plain
// predicate on (patient_id, category) and the source organisation, so that
// the database uses its indexes:
//   - the patient, signed in at P9: everything of theirs;
//   - a share or a break-the-glass window: the categories it covers;
//   - a clinician: what their organisation produced.
func recordPredicate(v *Viewer, r recordRules) entql.P {
	var ps []entql.P
	if own := v.OwnPatientIDs(); len(own) > 0 && v.IdentityLevel == IdentityVerified {
		ps = append(ps, and(in(colPatientID, own), r.owner))
	}
	for _, g := range v.Grants {
		if g.Owner {
			continue
		}
		ps = append(ps, and(entql.And(
			entql.FieldEQ(colPatientID, string(g.PatientID)),
			in(colCategory, g.Covers()),
		), r.shared))
	}
	if orgs := v.OrganisationsWithRole(RoleClinician); len(orgs) > 0 && !r.noSource {
		ps = append(ps, in(colSource, orgs))
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

// fieldEnsurer is implemented by every generated query (ent/template).
type fieldEnsurer interface{ EnsureFields(fields ...string) }

// loadColumns makes a query that entgql narrowed to the selected columns
// load the ones the field decisions need too: without them a decision
// would see zero values. Only entity loads are widened; IDs, counts and
// existence checks scan exactly what they select.
func loadColumns(cols ...string) privacy.QueryRule {
	return privacy.QueryRuleFunc(func(ctx context.Context, q entgo.Query) error {
		qc := entgo.QueryFromContext(ctx)
		if qc == nil {
			return privacy.Skip
		}
		switch qc.Op {
		case entgo.OpQueryAll, entgo.OpQueryOnly, entgo.OpQueryFirst:
			if e, ok := q.(fieldEnsurer); ok {
				e.EnsureFields(cols...)
			}
		}
		return privacy.Skip
	})
}

// systemWrites is the mutation policy: only the service itself
// (SystemContext) writes; each capability checks its caller with this
// package before writing as the system.
var systemWrites = privacy.MutationPolicy{privacy.AlwaysDenyRule()}

// recordColumns are what every record's decisions read.
var recordColumns = []string{colPatientID, colCategory, colSource}

func recordPolicy(r recordRules, extra ...string) privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			loadColumns(append(recordColumns, extra...)...),
			identityLevelRule,
			filter(func(v *Viewer) entql.P { return recordPredicate(v, r) }),
			privacy.AlwaysDenyRule(),
		},
		Mutation: systemWrites,
	}
}

// RecordPolicy guards the clinical and patient-recorded items.
func RecordPolicy() privacy.Policy { return recordPolicy(recordRules{}) }

// EncounterPolicy guards encounters; their detail fields depend on kind and
// status.
func EncounterPolicy() privacy.Policy { return recordPolicy(recordRules{}, "kind", "status") }

// released matches results whose content is out: released, or past its
// release time.
func released(v *Viewer) entql.P {
	return entql.FieldLTE(colVisibleFrom, v.Now)
}

// ResultPolicy guards results: the patient sees held results as entries
// (their content hidden by @sensitive) but never those marked never to be
// released; shares see only released results; the requesting
// organisation's clinicians see everything.
func ResultPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			loadColumns(append(recordColumns, colVisibleFrom, colNever)...),
			identityLevelRule,
			filter(func(v *Viewer) entql.P {
				return recordPredicate(v, recordRules{
					owner:  entql.FieldEQ(colNever, false),
					shared: released(v),
				})
			}),
			privacy.AlwaysDenyRule(),
		},
		Mutation: systemWrites,
	}
}

// ResultComponentPolicy guards a result's values: nobody but the requesting
// organisation's clinicians sees them before the result is released.
func ResultComponentPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			loadColumns(recordColumns...),
			identityLevelRule,
			filter(func(v *Viewer) entql.P {
				out := entql.HasEdgeWith("result", released(v))
				return recordPredicate(v, recordRules{owner: out, shared: out})
			}),
			privacy.AlwaysDenyRule(),
		},
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
	if len(v.OrganisationsWithRole(RoleClinician)) > 0 {
		return privacy.Skip
	}
	return privacy.Denyf("%w", ErrIdentityLevelTooLow)
})

// PatientPolicy guards patient records (demographics): visible to whoever
// holds a grant, and to clinicians of organisations linked to the record.
func PatientPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			ps := []entql.P{in(colID, v.PatientIDs())}
			if orgs := v.OrganisationsWithRole(RoleClinician); len(orgs) > 0 {
				ps = append(ps, entql.HasEdgeWith("organisation_links", in("organisation_id", orgs)))
			}
			return or(ps)
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// OwnerPolicy guards patient-owned rows that only the patient reads
// (research consents, organisation links).
func OwnerPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return in(colPatientID, v.OwnPatientIDs())
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// AuditPolicy guards the access log: the patient reads their record's
// entries; a privacy officer reads those of their own organisation's staff.
func AuditPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return or([]entql.P{
				in(colPatientID, v.OwnPatientIDs()),
				in("actor_organisation_id", v.OrganisationsWithRole(RolePrivacyOfficer)),
			})
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

// SessionPolicy lets a viewer list only their own sessions.
func SessionPolicy() privacy.Policy {
	return ownedBy("account_id")
}

// NotificationPolicy lets a viewer read only their own notifications, and
// only about what they may still see: a revoked share takes its
// notifications with it.
func NotificationPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return entql.And(
				entql.FieldEQ("recipient_account_id", string(v.AccountID)),
				recordPredicate(v, recordRules{noSource: true}),
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

// SystemPolicy guards what only the service reads and writes.
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

// ContactPolicy guards contact preferences: the patient, and whoever may
// open the patient's record for the organisations they are a clinician at.
func ContactPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filter(func(v *Viewer) entql.P {
			return or([]entql.P{
				in(colPatientID, v.OwnPatientIDs()),
				in("organisation_id", v.OrganisationsWithRole(RoleClinician)),
			})
		}), privacy.AlwaysDenyRule()},
		Mutation: systemWrites,
	}
}

// RollupPolicy guards measurement rollups like the readings they sum up:
// by patient and category (they have no source organisation).
func RollupPolicy() privacy.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			identityLevelRule,
			filter(func(v *Viewer) entql.P { return recordPredicate(v, recordRules{noSource: true}) }),
			privacy.AlwaysDenyRule(),
		},
		Mutation: systemWrites,
	}
}
