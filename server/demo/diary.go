package demo

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/category"
)

// symptoms writes symptoms the patient recorded, under the labels the
// patient chose.
func (l *loader) symptoms(ctx context.Context) error {
	rows := []struct {
		category   category.Category
		name       string
		severity   int
		occurredAt time.Time
		notes      string
	}{
		{category.General, "Headache", 4, l.day(-6, 16, 30), "Started after a long day at the screen."},
		{category.MentalHealth, "Low mood", 6, l.day(-4, 22, 10), "Hard to get going today."},
		{category.General, "Fatigue", 5, l.day(-3, 14, 0), ""},
		{category.Private, "Trouble sleeping", 5, l.day(-2, 3, 20), "Lying awake worrying about work."},
		{category.General, "Dizziness on standing", 3, l.day(-1, 8, 5), "Glucose was 5.8 at the time."},
	}
	return l.tx.Symptom.MapCreateBulk(rows, func(c *ent.SymptomCreate, i int) {
		r := rows[i]
		record(l, c, from(patientSource, r.category)).SetName(r.name).SetSeverity(r.severity).
			SetOccurredAt(r.occurredAt).SetNillableNotes(opt(r.notes))
	}).Exec(ctx)
}

// journal writes the patient's journal, including a PRIVATE entry that no
// share can ever see.
func (l *loader) journal(ctx context.Context) error {
	rows := []struct {
		category    category.Category
		title, body string
		writtenAt   time.Time
	}{
		{category.General, "New sensor", "Started the Libre 2 today. Much easier than finger pricks.",
			l.day(-30, 20, 15)},
		{category.MentalHealth, "First talking therapy session",
			"We talked about how the diabetes makes me anxious. Homework: write down three good things each day.",
			l.day(-12, 19, 0)},
		{category.Private, "Just for me",
			"Worried about money since cutting my hours. Not something I want anyone else to read yet.",
			l.day(-5, 23, 40)},
		{category.General, "Questions for the nurse",
			"Ask about lowering basal before running; ask whether I can have a pump.",
			l.day(-1, 21, 30)},
	}
	return l.tx.JournalEntry.MapCreateBulk(rows, func(c *ent.JournalEntryCreate, i int) {
		r := rows[i]
		record(l, c, from(patientSource, r.category)).SetTitle(r.title).SetBody(r.body).
			SetWrittenAt(r.writtenAt)
	}).Exec(ctx)
}
