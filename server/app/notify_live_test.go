package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
)

// probed waits until s delivers: a subscription starts a moment after the
// client asks, so the test writes probes to account until one arrives.
func (w *sharingWorld) probed(s *socket, account, patient pulid.ID) {
	w.t.Helper()
	for range 20 {
		err := w.db().Notification.Create().SetRecipientAccountID(account).SetPatientID(patient).
			SetKind(notification.KindSHARE_CHANGED).SetCategory(category.General).Exec(w.sys())
		w.must(err)
		if delivered(s.next(500*time.Millisecond)) != "" {
			for s.next(200*time.Millisecond) != nil { // later probes
			}
			w.must(w.db().Notification.Update().SetReadAt(w.e.clock.Now()).Exec(w.sys()))
			return
		}
	}
	w.t.Fatal("the subscription did not start")
}

// unread is the viewer's unread count and the subjects of their list.
func (w *sharingWorld) unread(token string) (int, []string) {
	w.t.Helper()
	res := w.e.post(token, `{ viewer { unreadNotificationCount notifications(first: 100) {
      edges { node { kind subject { id } } } } } }`, nil)
	var data struct {
		Viewer struct {
			UnreadNotificationCount int
			Notifications           struct {
				Edges []struct {
					Node struct {
						Kind    string
						Subject *struct{ ID string }
					}
				}
			}
		}
	}
	res.decode(w.t, &data)
	var subjects []string
	for _, e := range data.Viewer.Notifications.Edges {
		if e.Node.Subject != nil {
			subjects = append(subjects, e.Node.Subject.ID)
		}
	}
	return data.Viewer.UnreadNotificationCount, subjects
}

// receives reports whether s delivers a notification about subject within
// wait, returning the notification's ID.
func (w *sharingWorld) receives(s *socket, wait time.Duration, subject string) (string, bool) {
	w.t.Helper()
	id := delivered(s.next(wait))
	if id == "" {
		return "", false
	}
	n, err := w.db().Notification.Get(w.sys(), pulid.ID(id))
	w.must(err)
	return id, n.SubjectID != nil && string(*n.SubjectID) == subject
}

// The acceptance path of live notifications: a clinician's release goes to
// the patient and to the carer whose share covers it, never to a carer it
// does not; revoking the share stops delivery and takes the old
// notifications with it.
func TestAReleasedResultReachesEveryoneWhoMaySeeIt(t *testing.T) {
	w := newSharingWorld(t)
	patient := w.e.subscribe(t, w.alice)
	carer := w.e.subscribe(t, w.carer)
	w.probed(patient, w.f.Alice.AccountID, w.f.Alice.PatientID)
	w.probed(carer, w.f.Carer.AccountID, w.f.Alice.PatientID)
	patientUnread, _ := w.unread(w.alice)
	carerUnread, _ := w.unread(w.carer)

	now := w.e.clock.Now()
	general := w.fullBloodCount(now.Add(-24*time.Hour), 120)
	general["releaseNow"] = true
	generalID := w.addResult(general).ID
	if _, ok := w.receives(patient, 5*time.Second, generalID); !ok {
		t.Fatal("the patient did not receive the released GENERAL result")
	}
	if _, ok := w.receives(carer, 5*time.Second, generalID); !ok {
		t.Fatal("the GENERAL carer did not receive the released GENERAL result")
	}

	mental := w.fullBloodCount(now.Add(-24*time.Hour), 121)
	mental["releaseNow"], mental["category"], mental["name"] = true, "MENTAL_HEALTH", "Lithium level"
	mentalID := w.addResult(mental).ID
	if _, ok := w.receives(patient, 5*time.Second, mentalID); !ok {
		t.Fatal("the patient did not receive the released MENTAL_HEALTH result")
	}
	if m := carer.next(2 * time.Second); m != nil {
		t.Fatalf("the carer without MENTAL_HEALTH was told: %v", m)
	}

	// A held result reaches them when the clinician releases it.
	held := w.fullBloodCount(now.Add(-24*time.Hour), 122)
	heldID := w.addResult(held).ID
	if m := patient.next(1500 * time.Millisecond); m != nil {
		t.Fatalf("the patient was told of a held result: %v", m)
	}
	if res := w.e.post(w.clinician, `mutation($id: ID!) { releaseResult(id: $id) { id } }`, map[string]any{"id": heldID}); len(res.Errors) > 0 {
		t.Fatalf("releaseResult: %s", res.raw)
	}
	for who, s := range map[string]*socket{"patient": patient, "carer": carer} {
		if _, ok := w.receives(s, 5*time.Second, heldID); !ok {
			t.Fatalf("the %s did not receive the release", who)
		}
	}

	got, subjects := w.unread(w.alice)
	if got != patientUnread+3 || !containsAll(subjects, generalID, mentalID, heldID) {
		t.Errorf("patient: unread %d (was %d), subjects %v", got, patientUnread, subjects)
	}
	got, subjects = w.unread(w.carer)
	if got != carerUnread+2 || !containsAll(subjects, generalID, heldID) || slices.Contains(subjects, mentalID) {
		t.Errorf("carer: unread %d (was %d), subjects %v; want the two GENERAL results only", got, carerUnread, subjects)
	}

	// Who is told is decided when it happens: widening the share later
	// shows the carer new mental health items, not old news of them.
	sh, err := w.db().Share.Query().Where(share.GranteeAccountID(w.f.Carer.AccountID)).Only(w.sys())
	w.must(err)
	wider := map[string]any{"categories": []string{"GENERAL", "MENTAL_HEALTH"}}
	if res := w.e.post(w.alice, updateShareMutation, map[string]any{"id": sh.ID, "input": wider}); len(res.Errors) > 0 {
		t.Fatalf("updateShare: %s", res.raw)
	}
	if m := carer.next(5 * time.Second); delivered(m) == "" {
		t.Errorf("the carer was not told their share changed: %v", m)
	}
	if _, subjects := w.unread(w.carer); slices.Contains(subjects, mentalID) {
		t.Errorf("a widened share showed the carer news from before it: %v", subjects)
	}

	// Alice revokes the carer's share: delivery stops on the open
	// connection and the carer's list and count forget the record.
	if res := w.e.post(w.alice, revokeShareMutation, map[string]any{"id": sh.ID}); len(res.Errors) > 0 {
		t.Fatalf("revokeShare: %s", res.raw)
	}
	after := w.fullBloodCount(now.Add(-24*time.Hour), 123)
	after["releaseNow"] = true
	afterID := w.addResult(after).ID
	if _, ok := w.receives(patient, 5*time.Second, afterID); !ok {
		t.Fatal("the patient did not receive the result after the revocation")
	}
	if m := carer.next(2500 * time.Millisecond); delivered(m) != "" {
		t.Errorf("delivered to the carer after revocation: %v", m)
	}
	if got, subjects := w.unread(w.carer); got != 0 || len(subjects) != 0 {
		t.Errorf("after revocation the carer still has %d unread and subjects %v", got, subjects)
	}
	res := w.e.post(w.carer, `{ viewer { notifications { totalCount edges { node { id } } } } }`, nil)
	if string(res.Data) != `{"viewer":{"notifications":{"totalCount":0,"edges":[]}}}` {
		t.Errorf("after revocation the carer's list is %s", res.Data)
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}

// A client resumes after the last notification it received and gets what
// it missed, once; it may not resume after someone else's.
func TestASubscriptionResumesAfterTheLastNotificationReceived(t *testing.T) {
	w := newSharingWorld(t)
	write := func(to pulid.ID) string {
		n, err := w.db().Notification.Create().SetRecipientAccountID(to).SetPatientID(w.f.Alice.PatientID).
			SetKind(notification.KindLETTER_RECEIVED).SetCategory(category.General).Save(w.sys())
		w.must(err)
		return string(n.ID)
	}
	seen := write(w.f.Alice.AccountID)
	missed := []string{write(w.f.Alice.AccountID), write(w.f.Alice.AccountID)}
	bobs := write(w.f.Bob.AccountID)

	s := w.e.subscribe(t, w.alice)
	s.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{
		"query": "subscription($after: ID) { notificationAdded(after: $after) { id } }", "variables": map[string]any{"after": seen}}})
	var got []string
	for m := s.next(5 * time.Second); m != nil; m = s.next(1500 * time.Millisecond) {
		if m["id"] == "2" {
			got = append(got, delivered(m))
		}
	}
	if !slices.Equal(got, missed) {
		t.Errorf("resumed with %v, want the two missed %v", got, missed)
	}

	for _, after := range []string{bobs, "no01ZZZZZZZZZZZZZZZZZZZZZZZZ", "nope"} {
		s.send(map[string]any{"id": after, "type": "subscribe", "payload": map[string]any{
			"query": "subscription($after: ID) { notificationAdded(after: $after) { id } }", "variables": map[string]any{"after": after}}})
		var answer []map[string]any
		for m := s.next(5 * time.Second); m != nil; m = s.next(5 * time.Second) {
			if m["id"] == after {
				answer = append(answer, m)
			}
			if m["id"] == after && m["type"] == "complete" {
				break
			}
		}
		if len(answer) != 2 || !strings.Contains(fmt.Sprint(answer[0]["payload"]), "BAD_USER_INPUT") {
			t.Errorf("resuming after %s: %v", after, answer)
		}
	}
}
