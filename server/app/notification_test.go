package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
)

const notificationsQuery = `{ viewer { unreadNotificationCount notifications { totalCount edges { node { id kind readAt subject { id } } } } } }`

type notificationList struct {
	Viewer struct {
		UnreadNotificationCount int
		Notifications           struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID      string
					Kind    string
					ReadAt  *string
					Subject *struct{ ID string }
				}
			}
		}
	}
}

func TestNotificationsShowOnlyWhatTheRecipientMaySee(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 6, e.clock.Now())
	ctx := access.SystemContext(context.Background())
	// The carer (GENERAL share of Alice's record) is told about a GENERAL
	// appointment and, wrongly, about a MENTAL_HEALTH one: the second must
	// never show.
	general, mental := f.AliceNodes["Appointment"][0], f.AliceNodes["Appointment"][1]
	for _, n := range []struct {
		subject pulid.ID
		c       category.Category
	}{{general, category.General}, {mental, category.MentalHealth}} {
		if err := e.store.Client.Notification.Create().SetRecipientAccountID(f.Carer.AccountID).SetPatientID(f.Alice.PatientID).
			SetKind(notification.KindAPPOINTMENT_BOOKED).SetCategory(n.c).SetSubjectID(n.subject).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	carer := e.signIn(f.Carer.Email, fixturePassword)
	var got notificationList
	res := e.post(carer, notificationsQuery, nil)
	res.decode(t, &got)
	n := got.Viewer.Notifications
	if got.Viewer.UnreadNotificationCount != 1 || n.TotalCount != 1 || len(n.Edges) != 1 ||
		n.Edges[0].Node.Subject == nil || n.Edges[0].Node.Subject.ID != string(general) {
		t.Fatalf("carer's notifications: %s", res.raw)
	}
	if strings.Contains(string(res.raw), string(mental)) {
		t.Errorf("the hidden appointment leaks: %s", res.raw)
	}
	// Marking read: all visible, and not the hidden one.
	all := e.post(carer, `mutation { markAllNotificationsRead }`, nil)
	if string(all.Data) != `{"markAllNotificationsRead":1}` {
		t.Errorf("markAllNotificationsRead: %s", all.raw)
	}
	e.post(carer, notificationsQuery, nil).decode(t, &got)
	if got.Viewer.UnreadNotificationCount != 0 || got.Viewer.Notifications.Edges[0].Node.ReadAt == nil {
		t.Errorf("after marking read: %+v", got)
	}
	// Another recipient cannot mark Alice's notification read.
	aliceNote := string(f.AliceNodes["Notification"][0])
	if res := e.post(carer, `mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }`, map[string]any{"ids": []string{aliceNote}}); string(res.Data) != `{"markNotificationsRead":0}` {
		t.Errorf("carer marked Alice's notification: %s", res.raw)
	}
	alice := e.signIn(f.Alice.Email, fixturePassword)
	if res := e.post(alice, `mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }`, map[string]any{"ids": []string{aliceNote}}); string(res.Data) != `{"markNotificationsRead":1}` {
		t.Errorf("Alice marking her own: %s", res.raw)
	}
	// Revoking the share takes the carer's notifications with it.
	if err := e.store.Client.Share.Update().Where(share.GranteeAccountID(f.Carer.AccountID)).SetRevokedAt(e.clock.Now()).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	res = e.post(carer, notificationsQuery, nil)
	if !strings.Contains(string(res.Data), `"unreadNotificationCount":0,"notifications":{"totalCount":0,"edges":[]}`) {
		t.Errorf("after revocation: %s", res.raw)
	}
	if bad := e.post(carer, `mutation { markNotificationsRead(ids: ["nope"]) }`, nil); !slices.Equal(bad.codes(), []string{"BAD_USER_INPUT"}) {
		t.Errorf("malformed id: %s", bad.raw)
	}
}
