package graph

import (
	"context"
	"time"

	"entgo.io/contrib/entgql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// notifications pages the viewer's notifications, newest first. The
// notification policy keeps only those about what the viewer may see now.
func (r *Resolver) notifications(ctx context.Context, v *access.Viewer, after *entgql.Cursor[pulid.ID], first *int, before *entgql.Cursor[pulid.ID], last *int) (*ent.NotificationConnection, error) {
	return r.Client.Notification.Query().
		Where(notification.RecipientAccountID(v.AccountID)).
		Paginate(ctx, after, first, before, last, ent.WithNotificationOrder(&ent.NotificationOrder{
			Field:     ent.NotificationOrderFieldCreatedAt,
			Direction: entgql.OrderDirectionDesc,
		}))
}

// unreadNotifications counts what notifications would list unread.
func (r *Resolver) unreadNotifications(ctx context.Context, v *access.Viewer) (int, error) {
	return r.Client.Notification.Query().
		Where(notification.RecipientAccountID(v.AccountID), notification.ReadAtIsNil()).
		Count(ctx)
}

// markNotificationsRead marks read those of ids the viewer can see unread
// (nil: all of them). The read goes through the policy; only then does the
// service write.
func (r *Resolver) markNotificationsRead(ctx context.Context, ids []pulid.ID) (int, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return 0, access.ErrNoViewer
	}
	if err := validateIDs(ids...); err != nil {
		return 0, err
	}
	q := r.Client.Notification.Query().
		Where(notification.RecipientAccountID(v.AccountID), notification.ReadAtIsNil())
	if ids != nil {
		q.Where(notification.IDIn(ids...))
	}
	visible, err := q.IDs(ctx)
	if err != nil || len(visible) == 0 {
		return 0, err
	}
	return r.Client.Notification.Update().
		Where(notification.IDIn(visible...)).
		SetReadAt(v.Now).
		Save(access.SystemContext(ctx))
}

// notificationSubject is the record a notification is about, read as the
// viewer: null when they may not see it.
func (r *Resolver) notificationSubject(ctx context.Context, n *ent.Notification) (ent.Noder, error) {
	if n.SubjectID == nil {
		return nil, nil
	}
	if _, err := pulid.TableOf(*n.SubjectID); err != nil {
		return nil, nil
	}
	return r.node(ctx, *n.SubjectID)
}

// notificationFeed delivers each new notification the viewer may see, in
// the order written. Every tick it reloads the viewer from their session,
// so an ended session closes the feed and a revoked share stops what it
// allowed at once; the query then goes through the notification policy.
// Polling the shared store means a notification written by any server
// reaches subscribers on every server.
func (r *Resolver) notificationFeed(ctx context.Context, after *pulid.ID) (<-chan *ent.Notification, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	last, err := feedStart(ctx, r.Client, v, after)
	if err != nil {
		return nil, err
	}
	interval := r.FeedInterval
	if interval <= 0 {
		interval = time.Second
	}
	var woken <-chan struct{}
	if r.Waker != nil {
		if woken, err = r.Waker.Subscribe(ctx, string(v.AccountID)); err != nil {
			return nil, err
		}
	}
	out := make(chan *ent.Notification, 16)
	go func() {
		defer close(out)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-woken:
			}
			fresh, err := r.Identity.ViewerForSession(ctx, v.SessionID)
			if err != nil || fresh == nil {
				return
			}
			ns, err := r.Client.Notification.Query().
				Where(notification.RecipientAccountID(fresh.AccountID), notification.IDGT(last)).
				Order(ent.Asc(notification.FieldID)).
				Limit(100).
				All(access.NewContext(ctx, fresh))
			if err != nil {
				return
			}
			for _, n := range ns {
				last = n.ID
				select {
				case out <- n:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// feedStart is the notification a feed starts after: the one the client
// last received, or else the newest now (IDs are time-ordered). A client
// naming a notification not its own is refused like a malformed ID, so
// that the answer says nothing about other people's notifications.
func feedStart(ctx context.Context, client *ent.Client, v *access.Viewer, after *pulid.ID) (pulid.ID, error) {
	sys := access.SystemContext(ctx)
	if after != nil {
		if err := validateIDs(*after); err != nil {
			return "", err
		}
		mine, err := client.Notification.Query().
			Where(notification.ID(*after), notification.RecipientAccountID(v.AccountID)).
			Exist(sys)
		if err != nil {
			return "", err
		}
		if !mine {
			return "", errUnknownResumePoint
		}
		return *after, nil
	}
	last, err := client.Notification.Query().
		Where(notification.RecipientAccountID(v.AccountID)).
		Order(ent.Desc(notification.FieldID)).
		FirstID(sys)
	if ent.IsNotFound(err) {
		return "", nil
	}
	return last, err
}
