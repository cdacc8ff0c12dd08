package clinical_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/clinical"
	"github.com/patientportal/portal/server/store/storetest"
)

// racingStore is a blob store during whose upload the patient's record
// goes away, so that the letter's transaction fails after the document
// was written.
type racingStore struct {
	blob.Store
	during  func()
	deleted []string
}

func (r *racingStore) Put(ctx context.Context, key string, rd io.Reader, max int64) (int64, error) {
	n, err := r.Store.Put(ctx, key, rd, max)
	r.during()
	return n, err
}

func (r *racingStore) Delete(ctx context.Context, key string) error {
	r.deleted = append(r.deleted, key)
	return r.Store.Delete(ctx, key)
}

func TestALetterThatFailsToSaveLeavesNoDocument(t *testing.T) {
	st := storetest.Open(t)
	sys := access.SystemContext(context.Background())
	db := st.Client
	org, err := db.Organisation.Create().SetOdsCode("RXX").SetName("Trust").SetKind(organisation.KindTRUST).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := db.Account.Create().SetEmail("dr@example.org").SetDisplayName("Dr").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Membership.Create().SetAccountID(acc.ID).SetOrganisationID(org.ID).SetRole(membership.RoleCLINICIAN).Exec(sys); err != nil {
		t.Fatal(err)
	}
	pt, err := db.Patient.Create().SetGivenName("Pat").SetFamilyName("Example").SetNhsNumber("9990000018").
		SetDateOfBirth(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	// The clinician's trust holds the record, so that they may write to it.
	if err := db.PatientOrganisation.Create().SetPatientID(pt.ID).SetOrganisationID(org.ID).Exec(sys); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blobs := &racingStore{Store: blob.NewDir(dir), during: func() {
		if _, err := db.PatientOrganisation.Delete().Exec(sys); err != nil {
			t.Error(err)
		}
		if err := db.Patient.DeleteOneID(pt.ID).Exec(sys); err != nil {
			t.Error(err)
		}
	}}
	svc := clinical.New(db, clinical.Config{Blobs: blobs})
	v := &access.Viewer{AccountID: acc.ID, Now: time.Now().UTC(),
		Memberships: []access.Membership{{OrganisationID: org.ID, Role: access.RoleClinician}}}
	pdf := []byte("%PDF-1.7\nletter\n")

	_, err = svc.SendLetter(access.NewContext(context.Background(), v), model.SendLetterInput{
		PatientID: pt.ID, OrganisationID: org.ID, Title: "Letter",
		Document: &graphql.Upload{File: bytes.NewReader(pdf), Size: int64(len(pdf)), Filename: "a.pdf", ContentType: "application/pdf"},
	})
	if err == nil {
		t.Fatal("the letter was saved for a record that had gone")
	}
	if len(blobs.deleted) != 1 {
		t.Fatalf("deleted %v, want the one document written", blobs.deleted)
	}
	if _, err := blobs.Open(context.Background(), blobs.deleted[0]); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("document still there: %v", err)
	}
}
