package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/store"
)

// Importer stores what organisations' systems send.
type Importer struct {
	// Client is the portal's Ent client; the importer writes as the system.
	Client *ent.Client
	// Blobs keeps attached documents (PDF letters).
	Blobs blob.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// change is what storing an entry did.
type change int

const (
	created change = iota
	updated
	unchanged
	deleted
)

// stored is an entry's record in the portal.
type stored struct {
	// Type and ID name the record for the answer's location.
	Type   string
	ID     pulid.ID
	change change
	// note qualifies the answer, e.g. an observation stored in a report.
	note string
}

// item is one resource on its way in.
type item struct {
	pos     int
	fullURL string
	method  string
	head    Head
	raw     json.RawMessage
	// target is the portal record it became, for references to it.
	target pulid.ID
	// within is the item that stored this one as its part.
	within *item
	result *stored
	err    error
	done   bool
}

// typeID is how a relative reference names the item.
func (it *item) typeID() string {
	if it.head.ID == "" {
		return ""
	}
	return it.head.ResourceType + "/" + it.head.ID
}

// run is one import under way for one organisation.
type run struct {
	ctx   context.Context
	imp   *Importer
	org   *ent.Organisation
	now   time.Time
	tx    *ent.Client
	items []*item
	// byRef finds items by fullUrl and by Type/id.
	byRef map[string]*item
	// blobs are documents written by the current transaction, deleted if
	// it rolls back.
	blobs []string
	// obsolete are documents the current transaction let go of, deleted
	// once it commits.
	obsolete []string
	// single is a resource sent alone, not in a Bundle.
	single bool
}

// mapper stores one resource.
type mapper func(r *run, it *item) (*stored, error)

// mappers are the supported resource types.
var mappers = map[string]mapper{}

// order is the order in which types are stored, so that what others point
// at exists first. A report comes before observations: it takes in those
// it lists, and the rest are stored on their own.
var order = []string{"Patient", "Organization", "Location", "Practitioner", "PractitionerRole",
	"Encounter", "AllergyIntolerance", "Appointment", "DiagnosticReport", "Observation", "DocumentReference"}

func rank(t string) int {
	if i := slices.Index(order, t); i >= 0 {
		return i
	}
	return len(order)
}

// Bundle types the endpoint takes.
const (
	transaction = "transaction"
	batch       = "batch"
	collection  = "collection"
	document    = "document"
)

// Answer is the FHIR answer to a request, with its HTTP status.
type Answer struct {
	Status int
	// Body is a ResponseBundle or an OperationOutcome.
	Body any
	// Counts, for the import report.
	Entries, Stored, Unchanged, Skipped, Refused int
	Committed                                    bool
}

// ImportBundle stores a Bundle for org: a transaction all or nothing, the
// other types entry by entry.
func (imp *Importer) ImportBundle(ctx context.Context, org *ent.Organisation, b *Bundle) (*Answer, error) {
	if b.ResourceType != "Bundle" {
		return nil, refuse("the body is a %s, not a Bundle", safeName(b.ResourceType))
	}
	switch b.Type {
	case transaction, batch, collection, document:
	default:
		return nil, refuse("Bundle.type %q is not taken: send a transaction, batch, collection or document", safeName(b.Type))
	}
	r := imp.newRun(ctx, org)
	for i, e := range b.Entry {
		it := &item{pos: i, fullURL: e.FullURL, raw: e.Resource}
		if e.Request != nil {
			it.method = strings.ToUpper(e.Request.Method)
		}
		if len(e.Resource) == 0 {
			it.err, it.done = refuse("the entry has no resource"), true
		} else if err := json.Unmarshal(e.Resource, &it.head); err != nil || it.head.ResourceType == "" {
			it.err, it.done = refuse("the resource is not FHIR JSON"), true
		}
		if it.method != "" && it.method != http.MethodPost && it.method != http.MethodPut {
			it.err, it.done = refuse("%s is not taken: only POST and PUT store data", safeName(it.method)), true
		}
		r.add(it)
	}
	if b.Type == transaction {
		return r.transaction()
	}
	return r.separately(b.Type)
}

// ImportResource stores one resource sent alone; id is the id a PUT names.
func (imp *Importer) ImportResource(ctx context.Context, org *ent.Organisation, typ, id string, raw json.RawMessage) (*Answer, error) {
	it := &item{raw: raw, method: http.MethodPost}
	if err := json.Unmarshal(raw, &it.head); err != nil {
		return nil, refuse("the body is not FHIR JSON")
	}
	if it.head.ResourceType != typ {
		return nil, refuse("the body is a %s, not a %s", safeName(it.head.ResourceType), safeName(typ))
	}
	if id != "" {
		if it.head.ID != "" && it.head.ID != id {
			return nil, refuse("the resource's id does not match the URL's")
		}
		it.head.ID, it.method = id, http.MethodPut
	}
	r := imp.newRun(ctx, org)
	r.single = true
	r.add(it)
	a, err := r.transaction()
	if err != nil || a.Status >= 300 {
		return a, err
	}
	res := a.Body.(*ResponseBundle).Entry[0].Response
	a.Body = res
	return a, nil
}

func (imp *Importer) newRun(ctx context.Context, org *ent.Organisation) *run {
	now := time.Now
	if imp.Now != nil {
		now = imp.Now
	}
	return &run{ctx: access.SystemContext(ctx), imp: imp, org: org, now: now().UTC(), byRef: map[string]*item{}}
}

func (r *run) add(it *item) {
	r.items = append(r.items, it)
	if it.fullURL != "" {
		r.byRef[it.fullURL] = it
	}
	if k := it.typeID(); k != "" {
		if _, taken := r.byRef[k]; !taken {
			r.byRef[k] = it
		}
	}
}

// sorted lists the items in storing order.
func (r *run) sorted() []*item {
	out := slices.Clone(r.items)
	slices.SortStableFunc(out, func(a, b *item) int { return rank(a.head.ResourceType) - rank(b.head.ResourceType) })
	return out
}

// transaction stores every item in one database transaction: one refusal
// rolls back all.
func (r *run) transaction() (*Answer, error) {
	for _, it := range r.items {
		if _, refused := asRefusal(it.err); refused {
			return r.refusedTransaction(it), nil
		}
	}
	var failed *item
	err := store.InTx(r.ctx, r.imp.Client, func(tx *ent.Client) error {
		r.tx = tx
		for _, it := range r.sorted() {
			if err := r.store(it); err != nil {
				failed = it
				return err
			}
		}
		return nil
	})
	r.tx = nil
	r.settleBlobs(err == nil)
	if err != nil {
		if failed != nil {
			if _, ok := asRefusal(failed.err); ok {
				return r.refusedTransaction(failed), nil
			}
		}
		return nil, err
	}
	return r.answer("transaction-response", true), nil
}

// separately stores each item in its own transaction.
func (r *run) separately(bundleType string) (*Answer, error) {
	for _, it := range r.sorted() {
		if it.done {
			continue
		}
		before := map[*item]bool{}
		for _, other := range r.items {
			before[other] = other.done
		}
		err := store.InTx(r.ctx, r.imp.Client, func(tx *ent.Client) error {
			r.tx = tx
			return r.store(it)
		})
		r.tx = nil
		r.settleBlobs(err == nil)
		if err != nil {
			// Parts stored with it were rolled back with it.
			for _, other := range r.items {
				if other != it && other.done && !before[other] {
					other.done, other.result, other.err, other.target, other.within = false, nil, nil, "", nil
				}
			}
			if _, ok := asRefusal(err); !ok {
				return nil, err
			}
		}
	}
	return r.answer(bundleType+"-response", true), nil
}

// store maps one item unless it is done already (stored as part of
// another); a refusal is kept on the item and returned, a skip only kept.
func (r *run) store(it *item) error {
	if it.done {
		if _, refused := asRefusal(it.err); refused {
			return it.err
		}
		return nil
	}
	it.done = true
	m, ok := mappers[it.head.ResourceType]
	if !ok {
		it.err = skip("%s is not kept by the portal", safeName(it.head.ResourceType))
		return nil
	}
	res, err := m(r, it)
	switch {
	case err == nil:
		it.result = res
		if res != nil && it.target == "" {
			it.target = res.ID
		}
		return nil
	case isSkip(err):
		it.err = err
		return nil
	default:
		if _, ok := asRefusal(err); !ok {
			return fmt.Errorf("fhir: storing entry %d (%s): %w", it.pos, it.head.ResourceType, err)
		}
		it.err = err
		return err
	}
}

func isSkip(err error) bool {
	_, ok := asSkip(err)
	return ok
}

// refusedTransaction answers a transaction refused because of one entry.
func (r *run) refusedTransaction(it *item) *Answer {
	ref, _ := asRefusal(it.err)
	issue := Issue{Severity: "error", Code: ref.Code, Diagnostics: "the transaction was not stored: " + ref.Reason,
		Expression: []string{fmt.Sprintf("Bundle.entry[%d]", it.pos)}}
	if r.single {
		issue.Diagnostics, issue.Expression = "not stored: "+ref.Reason, nil
	}
	return &Answer{Status: ref.Status, Entries: len(r.items), Refused: 1, Body: outcome(issue)}
}

// answer builds the response bundle in the order the entries came.
func (r *run) answer(bundleType string, committed bool) *Answer {
	a := &Answer{Status: http.StatusOK, Entries: len(r.items), Committed: committed}
	body := &ResponseBundle{ResourceType: "Bundle", Type: bundleType, Entry: make([]ResponseEntry, len(r.items))}
	for i, it := range r.items {
		body.Entry[i].Response = it.response()
		switch {
		case it.err == nil && it.result != nil && it.result.change == unchanged:
			a.Unchanged++
		case it.err == nil:
			a.Stored++
		case isSkip(it.err):
			a.Skipped++
		default:
			a.Refused++
		}
	}
	a.Body = body
	return a
}

// response is the entry's answer.
func (it *item) response() EntryResponse {
	if it.err != nil {
		if s, ok := asSkip(it.err); ok {
			return EntryResponse{Status: "200 OK", Outcome: outcome(Issue{Severity: "warning", Code: "not-supported", Diagnostics: "not stored: " + s.reason})}
		}
		if ref, ok := asRefusal(it.err); ok {
			return EntryResponse{Status: fmt.Sprintf("%d %s", ref.Status, http.StatusText(ref.Status)),
				Outcome: outcome(Issue{Severity: "error", Code: ref.Code, Diagnostics: ref.Reason})}
		}
		return EntryResponse{Status: "500 Internal Server Error", Outcome: outcome(Issue{Severity: "error", Code: "exception"})}
	}
	res := it.result
	if res == nil {
		return EntryResponse{Status: "200 OK"}
	}
	er := EntryResponse{Location: res.Type + "/" + string(res.ID)}
	switch res.change {
	case created:
		er.Status = "201 Created"
	case deleted:
		er.Status, er.Location = "200 OK", ""
		er.Outcome = outcome(Issue{Severity: "information", Code: "informational", Diagnostics: "entered in error: removed from the portal"})
	default:
		er.Status = "200 OK"
	}
	if res.note != "" && er.Outcome == nil {
		er.Outcome = outcome(Issue{Severity: "information", Code: "informational", Diagnostics: res.note})
	}
	return er
}

// settleBlobs finishes a transaction's documents: when it committed, the
// ones it let go of are deleted; when it rolled back, the ones it wrote.
func (r *run) settleBlobs(committed bool) {
	drop := r.blobs
	if committed {
		drop = r.obsolete
	}
	for _, key := range drop {
		_ = r.imp.Blobs.Delete(context.WithoutCancel(r.ctx), key)
	}
	r.blobs, r.obsolete = nil, nil
}

// safeName quotes a name from the input only when it looks like one, so
// that diagnostics never echo arbitrary content.
func safeName(s string) string {
	if s == "" || len(s) > 64 {
		return "(unnamed)"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "(unnamed)"
		}
	}
	return s
}

// errNotFound reports an import report that is missing or not the key's.
var errNotFound = errors.New("fhir: not found")
