package access

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"sync"

	entgo "entgo.io/ent"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// ReadLog collects, for one request, which patients' records a viewer
// other than the patient read, so that the access log gets one entry per
// request and patient rather than one per field.
type ReadLog struct {
	mu    sync.Mutex
	reads map[pulid.ID]map[string]bool
}

// Read is one patient's part of a request's reads.
type Read struct {
	// PatientID is whose record was read.
	PatientID pulid.ID
	// Kinds are the kinds of record read, sorted.
	Kinds []string
	// ShareID is the share the viewer read under, if any.
	ShareID pulid.ID
	// BreakGlassID is the emergency window the viewer read under, if any.
	BreakGlassID pulid.ID
	// OrganisationID is the organisation whose clinician read what it
	// produced, when neither of the above applies.
	OrganisationID pulid.ID
}

type readLogKey struct{}

// WithReadLog returns a context that collects the request's reads.
func WithReadLog(ctx context.Context) (context.Context, *ReadLog) {
	l := &ReadLog{reads: map[pulid.ID]map[string]bool{}}
	return context.WithValue(ctx, readLogKey{}, l), l
}

func (l *ReadLog) add(patient pulid.ID, kind string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reads[patient] == nil {
		l.reads[patient] = map[string]bool{}
	}
	l.reads[patient][kind] = true
}

// Reads returns what v read, one entry per patient, with the grant it read
// under.
func (l *ReadLog) Reads(v *Viewer) []Read {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Read
	for patient, kinds := range l.reads {
		r := Read{PatientID: patient}
		for k := range kinds {
			r.Kinds = append(r.Kinds, k)
		}
		sort.Strings(r.Kinds)
		for _, g := range v.Grants {
			if g.PatientID != patient {
				continue
			}
			switch {
			case g.ShareID != "" && r.ShareID == "":
				r.ShareID = g.ShareID
			case g.BreakGlassID != "" && r.BreakGlassID == "":
				r.BreakGlassID = g.BreakGlassID
			}
		}
		if r.ShareID == "" && r.BreakGlassID == "" {
			if orgs := v.OrganisationsWithRole(RoleClinician); len(orgs) > 0 {
				r.OrganisationID = orgs[0]
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PatientID < out[j].PatientID })
	return out
}

// LogReads is an interceptor that records every row of kind returned to a
// viewer who is not the row's patient; field names the entity's patient ID
// (PatientID, or ID for the patient record itself).
func LogReads(kind, field string) entgo.Interceptor {
	return entgo.InterceptFunc(func(next entgo.Querier) entgo.Querier {
		return entgo.QuerierFunc(func(ctx context.Context, q entgo.Query) (entgo.Value, error) {
			value, err := next.Query(ctx, q)
			if err != nil {
				return value, err
			}
			l, _ := ctx.Value(readLogKey{}).(*ReadLog)
			v := FromContext(ctx)
			if l == nil || v == nil {
				return value, nil
			}
			own := v.OwnPatientIDs()
			eachPatient(value, field, func(p pulid.ID) {
				if !slices.Contains(own, p) {
					l.add(p, kind)
				}
			})
			return value, nil
		})
	})
}

// eachPatient calls fn with the patient ID of each entity in value: an
// entity pointer or a slice of them. Counts and IDs are not reads of
// content and are ignored.
func eachPatient(value any, field string, fn func(pulid.ID)) {
	rv := reflect.ValueOf(value)
	visit := func(e reflect.Value) {
		if e.Kind() == reflect.Pointer && !e.IsNil() {
			e = e.Elem()
		}
		if e.Kind() != reflect.Struct {
			return
		}
		if f := e.FieldByName(field); f.IsValid() {
			if id, ok := f.Interface().(pulid.ID); ok && id != "" {
				fn(id)
			}
		}
	}
	switch rv.Kind() {
	case reflect.Slice:
		for i := range rv.Len() {
			visit(rv.Index(i))
		}
	case reflect.Pointer:
		visit(rv)
	}
}
