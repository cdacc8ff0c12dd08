package demo

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/schema/category"
)

// Sites of the demo trusts.
const (
	northbridgeGeneral = "Northbridge General Hospital"
	elmwoodCentre      = "Elmwood Centre (community mental health)"
	fenwickRoyal       = "Fenwick Royal Infirmary"
)

// appointments writes the diary: past and upcoming, in several clinics,
// including a psychiatry and a sexual health appointment that only shares
// granted those labels see.
func (l *loader) appointments(ctx context.Context) error {
	rows := []struct {
		origin
		startsAt                             time.Time
		minutes                              int
		status                               appointment.Status
		title, specialty, clinic, clinicCode string
		site, clinician, instructions        string
	}{
		{origin: from(firstTrust, category.General), startsAt: l.day(-120, 9, 30), minutes: 30,
			status: appointment.StatusATTENDED, title: "Diabetes review",
			specialty: "Diabetes and Endocrinology", clinic: "Young Adult Diabetes Clinic", clinicCode: "DIAB2",
			site: northbridgeGeneral, clinician: "Dr Priya Shah"},
		{origin: from(firstTrust, category.MentalHealth), startsAt: l.day(-60, 14, 0), minutes: 45,
			status: appointment.StatusATTENDED, title: "Outpatient psychiatry review",
			specialty: "Psychiatry", clinic: "Community Mental Health Team", clinicCode: "CMHT1",
			site: elmwoodCentre, clinician: "Dr Tomasz Nowak"},
		{origin: from(secondTrust, category.General), startsAt: l.day(-45, 11, 15), minutes: 20,
			status: appointment.StatusCANCELLED, title: "Diabetic eye screening",
			specialty: "Ophthalmology", clinic: "Retinal Screening", clinicCode: "OPHRS",
			site: fenwickRoyal},
		{origin: from(secondTrust, category.SexualHealth), startsAt: l.day(-21, 10, 0), minutes: 20,
			status: appointment.StatusATTENDED, title: "Sexual health clinic",
			specialty: "Genitourinary Medicine", clinic: "Sexual Health Clinic", clinicCode: "GUM1",
			site: fenwickRoyal},
		{origin: from(firstTrust, category.General), startsAt: l.day(9, 10, 30), minutes: 30,
			status: appointment.StatusBOOKED, title: "Diabetes specialist nurse review",
			specialty: "Diabetes and Endocrinology", clinic: "Diabetes Nurse Clinic", clinicCode: "DSN1",
			site: northbridgeGeneral, clinician: "Helen Okafor, Diabetes Specialist Nurse",
			instructions: "Please bring your glucose sensor reader or phone, and your insulin pens."},
		{origin: from(secondTrust, category.General), startsAt: l.day(23, 15, 45), minutes: 30,
			status: appointment.StatusBOOKED, title: "Gynaecology outpatient appointment",
			specialty: "Gynaecology", clinic: "General Gynaecology", clinicCode: "GYN2",
			site: fenwickRoyal, clinician: "Miss Aisha Rahman"},
		{origin: from(firstTrust, category.General), startsAt: l.day(40, 9, 0), minutes: 45,
			status: appointment.StatusCANCELLED, title: "Physiotherapy assessment",
			specialty: "Physiotherapy", clinic: "Musculoskeletal Physiotherapy", clinicCode: "PHYMSK",
			site: northbridgeGeneral},
		{origin: from(secondTrust, category.General), startsAt: l.day(70, 13, 30), minutes: 20,
			status: appointment.StatusBOOKED, title: "Diabetic eye screening (rebooked)",
			specialty: "Ophthalmology", clinic: "Retinal Screening", clinicCode: "OPHRS",
			site: fenwickRoyal, instructions: "Eye drops may blur your vision for a few hours: do not drive."},
	}
	return l.tx.Appointment.MapCreateBulk(rows, func(c *ent.AppointmentCreate, i int) {
		r := rows[i]
		record(l, c, r.origin).SetStartsAt(r.startsAt).SetDurationMinutes(r.minutes).
			SetStatus(r.status).SetTitle(r.title).SetNillableSpecialty(opt(r.specialty)).
			SetNillableClinic(opt(r.clinic)).SetNillableClinicCode(opt(r.clinicCode)).
			SetNillableSite(opt(r.site)).SetNillableClinician(opt(r.clinician)).
			SetNillableInstructions(opt(r.instructions))
	}).Exec(ctx)
}

// allergies writes allergies recorded by the trusts and by the patient.
func (l *loader) allergies(ctx context.Context) error {
	rows := []struct {
		origin
		substance, reaction string
		severity            allergy.Severity
		criticality         allergy.Criticality
		recorder            string
		recordedAt          time.Time
	}{
		{from(firstTrust, category.General), "Penicillin", "Widespread urticarial rash",
			allergy.SeverityMODERATE, allergy.CriticalityHIGH, "Dr Priya Shah", l.day(-400, 11, 20)},
		{from(secondTrust, category.General), "Chlorhexidine", "Contact dermatitis",
			allergy.SeverityMILD, allergy.CriticalityLOW, "Fenwick Royal Infirmary pharmacy", l.day(-75, 2, 40)},
		{from(patientSource, category.General), "Peanuts", "Swollen lips and tongue",
			allergy.SeveritySEVERE, allergy.CriticalityHIGH, "", l.day(-300, 20, 5)},
		{from(patientSource, category.General), "Grass pollen", "Hay fever: itchy eyes and sneezing",
			allergy.SeverityMILD, allergy.CriticalityLOW, "", l.day(-90, 18, 45)},
	}
	return l.tx.Allergy.MapCreateBulk(rows, func(c *ent.AllergyCreate, i int) {
		r := rows[i]
		recordedBy := allergy.RecordedByTRUST
		if r.from == patientSource {
			recordedBy = allergy.RecordedByPATIENT
		}
		record(l, c, r.origin).SetSubstance(r.substance).SetReaction(r.reaction).
			SetSeverity(r.severity).SetCriticality(r.criticality).SetStatus(allergy.StatusACTIVE).
			SetRecordedBy(recordedBy).SetNillableRecorder(opt(r.recorder)).SetRecordedAt(r.recordedAt)
	}).Exec(ctx)
}

// encounters writes two emergency attendances and an inpatient stay. The
// attendance in progress has not been seen: it counts as GENERAL, and the
// MENTAL_HEALTH label the triage nurse gave it applies once it is.
func (l *loader) encounters(ctx context.Context) error {
	rows := []struct {
		origin
		kind                  encounter.Kind
		status                encounter.Status
		started, seen, ended  time.Time
		site, ward, specialty string
		complaint, summary    string
	}{
		{origin: origin{from: firstTrust, category: category.General, assigned: category.MentalHealth},
			kind: encounter.KindEMERGENCY, status: encounter.StatusARRIVED, started: l.ago(95 * time.Minute),
			site:      northbridgeGeneral + " Emergency Department",
			complaint: "Low mood and anxiety; worried about keeping safe tonight."},
		{origin: from(secondTrust, category.General),
			kind: encounter.KindEMERGENCY, status: encounter.StatusDISCHARGED,
			started: l.day(-75, 1, 10), seen: l.day(-75, 1, 55), ended: l.day(-75, 5, 30),
			site: fenwickRoyal + " Emergency Department", specialty: "Emergency Medicine",
			complaint: "Confusion and sweating after an evening run.",
			summary:   "Hypoglycaemia (capillary glucose 2.6 mmol/L on arrival), treated with oral glucose. Discharged with advice on insulin adjustment for exercise."},
		{origin: from(firstTrust, category.General),
			kind: encounter.KindINPATIENT, status: encounter.StatusDISCHARGED,
			started: l.day(-200, 16, 20), seen: l.day(-200, 16, 20), ended: l.day(-196, 12, 0),
			site: northbridgeGeneral, ward: "Ward 5B (Endocrinology)", specialty: "Diabetes and Endocrinology",
			summary: "Admitted with diabetic ketoacidosis after a viral illness. Treated with fixed-rate insulin infusion and fluids; sick-day rules reviewed before discharge."},
	}
	return l.tx.Encounter.MapCreateBulk(rows, func(c *ent.EncounterCreate, i int) {
		r := rows[i]
		record(l, c, r.origin).SetKind(r.kind).SetStatus(r.status).SetStartedAt(r.started).
			SetNillableSeenAt(optTime(r.seen)).SetNillableEndedAt(optTime(r.ended)).
			SetNillableSite(opt(r.site)).SetNillableWard(opt(r.ward)).SetNillableSpecialty(opt(r.specialty)).
			SetNillablePresentingComplaint(opt(r.complaint)).SetNillableSummary(opt(r.summary))
	}).Exec(ctx)
}

// letters writes correspondence, some read and some not yet.
func (l *loader) letters(ctx context.Context) error {
	rows := []struct {
		origin
		title, author string
		sent, read    time.Time
		body          string
	}{
		{from(firstTrust, category.General), "Discharge summary", "Ward 5B (Endocrinology)",
			l.day(-196, 15, 0), l.day(-195, 19, 12),
			"You were admitted with diabetic ketoacidosis. Please follow the sick-day rules we discussed and contact the diabetes team if your ketones rise."},
		{from(firstTrust, category.General), "Diabetes clinic letter", "Dr Priya Shah, Consultant in Diabetes",
			l.day(-118, 9, 0), l.day(-117, 21, 40),
			"Thank you for attending clinic. Your HbA1c has improved. We agreed to continue your current insulin doses and review in four months."},
		{from(firstTrust, category.MentalHealth), "Psychiatry clinic letter", "Dr Tomasz Nowak, Consultant Psychiatrist",
			l.day(-57, 9, 0), l.day(-55, 8, 30),
			"We discussed your low mood and its effect on managing your diabetes. We agreed a referral for talking therapy."},
		{from(secondTrust, category.General), "Emergency department discharge letter", "Fenwick Royal Infirmary Emergency Department",
			l.day(-75, 6, 0), l.day(-74, 12, 15),
			"You attended with a low blood glucose after exercise. Please reduce your insulin before planned exercise and carry fast-acting glucose."},
		{from(secondTrust, category.SexualHealth), "Your sexual health clinic results", "Fenwick Sexual Health Service",
			l.day(-18, 16, 30), time.Time{},
			"Your recent tests were all negative. No further action is needed."},
		{from(firstTrust, category.General), "Appointment confirmation: diabetes specialist nurse review", "Northbridge Outpatient Bookings",
			l.day(-2, 8, 0), time.Time{},
			"Your appointment with the diabetes specialist nurse is confirmed. Details are in your diary."},
	}
	return l.tx.Letter.MapCreateBulk(rows, func(c *ent.LetterCreate, i int) {
		r := rows[i]
		record(l, c, r.origin).SetTitle(r.title).SetAuthor(r.author).SetSentAt(r.sent).
			SetBody(r.body).SetNillableReadAt(optTime(r.read))
	}).Exec(ctx)
}

// careResources writes material the care teams assigned.
func (l *loader) careResources(ctx context.Context) error {
	rows := []struct {
		origin
		title, description, link string
		tags                     []string
		assigned, completed      time.Time
	}{
		{from(firstTrust, category.General), "Managing hypos",
			"What a low blood glucose feels like, how to treat it, and when to call for help.",
			"https://www.nhs.uk/conditions/low-blood-sugar-hypoglycaemia/",
			[]string{"diabetes", "hypoglycaemia"}, l.day(-30, 10, 0), time.Time{}},
		{from(firstTrust, category.MentalHealth), "Every Mind Matters",
			"Practical tips for looking after your mental health while you wait for talking therapy.",
			"https://www.nhs.uk/every-mind-matters/",
			[]string{"mental health", "self-help"}, l.day(-56, 9, 30), l.day(-50, 21, 0)},
	}
	return l.tx.CareResource.MapCreateBulk(rows, func(c *ent.CareResourceCreate, i int) {
		r := rows[i]
		record(l, c, r.origin).SetTitle(r.title).SetDescription(r.description).SetLink(r.link).
			SetTags(r.tags).SetAssignedAt(r.assigned).SetNillableCompletedAt(optTime(r.completed))
	}).Exec(ctx)
}
