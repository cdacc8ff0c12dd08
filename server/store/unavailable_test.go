package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// A store that cannot answer in time says so with ErrUnavailable, through
// the Ent client and through Ping; once it can, both succeed again.
func TestAStoreThatCannotAnswerIsUnavailable(t *testing.T) {
	s := storetest.Open(t)
	ctx, cancel := context.WithDeadline(access.SystemContext(context.Background()), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.Client.Organisation.Query().Count(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a query past its deadline: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a ping past its deadline: %v, want ErrUnavailable", err)
	}
	live := access.SystemContext(context.Background())
	if _, err := s.Client.Organisation.Query().Count(live); err != nil {
		t.Errorf("a query afterwards: %v", err)
	}
	if err := s.Ping(live); err != nil {
		t.Errorf("a ping afterwards: %v", err)
	}
}
