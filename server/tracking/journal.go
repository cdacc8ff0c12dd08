package tracking

import (
	"context"
	"log/slog"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/journalentry"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/clinical"
)

// AddJournalEntry adds an entry to the patient's journal. Only the
// record's owner, signed in at P9, writes one; PRIVATE entries are theirs
// alone (package access sees to that).
func (s *Service) AddJournalEntry(ctx context.Context, in model.AddJournalEntryInput) (*ent.JournalEntry, error) {
	v, err := s.diaryActAsPatient(ctx, in.PatientID)
	if err != nil {
		return nil, err
	}
	var check diaryCheck
	title := check.text("input.title", &in.Title, true, diaryLineText)
	body := check.text("input.body", &in.Body, true, diaryFreeText)
	check.when("input.writtenAt", in.WrittenAt, false, s.now())
	if err := check.err(); err != nil {
		return nil, err
	}
	writtenAt := s.now()
	if in.WrittenAt != nil {
		writtenAt = in.WrittenAt.UTC()
	}
	assigned, effective := diaryLabel(in.Category)
	var id pulid.ID
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		j, err := tx.JournalEntry.Create().
			SetPatientID(in.PatientID).
			SetTitle(*title).
			SetBody(*body).
			SetWrittenAt(writtenAt).
			SetAssignedCategory(assigned).
			SetCategory(effective).
			Save(ctx)
		if err != nil {
			return err
		}
		id = j.ID
		return diaryAudit(ctx, tx, v, in.PatientID, nil, "JOURNAL_ENTRY_ADDED", "JournalEntry")
	})
	if err != nil {
		return nil, err
	}
	return s.readJournalEntry(ctx, id)
}

// UpdateJournalEntry changes an entry of the patient's own journal,
// provided it is still the version they read.
func (s *Service) UpdateJournalEntry(ctx context.Context, id pulid.ID, in model.UpdateJournalEntryInput) (*ent.JournalEntry, error) {
	j, err := s.readJournalEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := diaryOwnItem(ctx, j.PatientID)
	if err != nil {
		return nil, err
	}
	var check diaryCheck
	title := check.text("input.title", in.Title, true, diaryLineText)
	body := check.text("input.body", in.Body, true, diaryFreeText)
	check.when("input.writtenAt", in.WrittenAt, false, s.now())
	if err := check.err(); err != nil {
		return nil, err
	}
	if err := journalFresh(in.ExpectedUpdatedAt.UTC(), j); err != nil {
		return nil, err
	}
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		// Claim the version read: a racing change waits on the row lock
		// and then misses (see clinical's claimed).
		n, err := tx.JournalEntry.Update().
			Where(journalentry.ID(id), journalentry.UpdatedAt(j.UpdatedAt)).
			Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return clinical.ErrConflict
		}
		u := tx.JournalEntry.UpdateOneID(id)
		if title != nil {
			u.SetTitle(*title)
		}
		if body != nil {
			u.SetBody(*body)
		}
		if in.WrittenAt != nil {
			u.SetWrittenAt(in.WrittenAt.UTC())
		}
		if in.Category != nil {
			assigned, effective := diaryLabel(in.Category)
			u.SetAssignedCategory(assigned).SetCategory(effective)
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		return diaryAudit(ctx, tx, v, j.PatientID, nil, "JOURNAL_ENTRY_UPDATED", "JournalEntry")
	})
	if err != nil {
		return nil, err
	}
	return s.readJournalEntry(ctx, id)
}

// DeleteJournalEntry deletes an entry of the patient's own journal for
// good: the row goes, and on SQLite (secure_delete, then a checkpoint) its
// text leaves the database files too. The audit keeps only that an entry
// was deleted; journal entries have no notifications or mail to purge.
func (s *Service) DeleteJournalEntry(ctx context.Context, id pulid.ID) (bool, error) {
	j, err := s.readJournalEntry(ctx, id)
	if err != nil {
		return false, err
	}
	v, err := diaryOwnItem(ctx, j.PatientID)
	if err != nil {
		return false, err
	}
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.JournalEntry.DeleteOneID(id).Exec(ctx); err != nil {
			return diaryNotFound(err)
		}
		return diaryAudit(ctx, tx, v, j.PatientID, nil, "JOURNAL_ENTRY_DELETED", "JournalEntry")
	})
	if err != nil {
		return false, err
	}
	s.journalScrub(ctx)
	return true, nil
}

// journalScrub moves a deletion out of SQLite's write-ahead log into the
// database file, whose freed space secure_delete has zeroed, and empties
// the log, which still holds earlier versions of the page. The deletion
// is already committed, so a failure is logged, not returned. MySQL, which
// fails the probe, purges deleted rows by itself.
func (s *Service) journalScrub(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	rows, err := s.client.QueryContext(ctx, "SELECT sqlite_version()")
	if err != nil {
		return
	}
	rows.Close()
	if _, err := s.client.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		slog.ErrorContext(ctx, "checkpointing after a journal deletion", "err", err)
	}
}

// journalFresh refuses a change based on a stale updatedAt, compared to
// the microsecond that every engine stores.
func journalFresh(expected time.Time, j *ent.JournalEntry) error {
	if !expected.Truncate(time.Microsecond).Equal(j.UpdatedAt.UTC().Truncate(time.Microsecond)) {
		return clinical.ErrConflict
	}
	return nil
}

// readJournalEntry reads an entry as the viewer.
func (s *Service) readJournalEntry(ctx context.Context, id pulid.ID) (*ent.JournalEntry, error) {
	j, err := s.client.JournalEntry.Get(ctx, id)
	return j, diaryNotFound(err)
}
