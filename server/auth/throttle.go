package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/signinthrottle"
)

// Lockout: after this many consecutive failures for one email from one
// address, that address is refused for that email for lockoutFor. Keyed by
// email whether or not it has an account, so a lockout reveals nothing.
const (
	maxFailures = 10
	lockoutFor  = 15 * time.Minute
)

// Per-address limit on failed sign-ins across all emails, against password
// spraying: a burst of 30 failures, then one every 2 seconds. A request is
// held at most maxHold waiting for its turn; beyond that it is refused. A
// successful sign-in gives its turn back, so people signing in behind one
// address (a hospital's NAT) are not held up by each other.
const (
	addressBurst = 30
	addressEvery = 2 * time.Second
	maxHold      = time.Second
)

func throttleKey(email, addr string) string {
	sum := sha256.Sum256([]byte(NormaliseEmail(email) + "\x00" + addr))
	return hex.EncodeToString(sum[:])
}

// lockedOut reports whether email is locked out for addr.
func (s *Service) lockedOut(ctx context.Context, email, addr string) (bool, error) {
	th, err := s.client.SignInThrottle.Query().Where(signinthrottle.KeyHash(throttleKey(email, addr))).Only(ctx)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return th.LockedUntil != nil && s.now().Before(*th.LockedUntil), nil
}

// recordFailure counts a failed sign-in and locks out at the tenth.
func (s *Service) recordFailure(ctx context.Context, email, addr string) error {
	key := throttleKey(email, addr)
	th, err := s.client.SignInThrottle.Query().Where(signinthrottle.KeyHash(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return s.client.SignInThrottle.Create().SetKeyHash(key).SetFailures(1).SetUpdatedAt(s.now()).Exec(ctx)
	}
	if err != nil {
		return err
	}
	failures := th.Failures + 1
	upd := s.client.SignInThrottle.UpdateOne(th).SetUpdatedAt(s.now())
	if failures >= maxFailures {
		upd.SetFailures(0).SetLockedUntil(s.now().Add(lockoutFor))
	} else {
		upd.SetFailures(failures)
	}
	return upd.Exec(ctx)
}

// recordSuccess ends the run of failures.
func (s *Service) recordSuccess(ctx context.Context, email, addr string) error {
	_, err := s.client.SignInThrottle.Delete().Where(signinthrottle.KeyHash(throttleKey(email, addr))).Exec(ctx)
	return err
}

// addressLimits holds one token bucket per client address.
type addressLimits struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// wait returns how long a sign-in from addr must wait for its turn, and
// false when that would be longer than maxHold; giveBack returns the turn
// after a successful sign-in.
func (l *addressLimits) wait(addr string, now time.Time) (d time.Duration, ok bool, giveBack func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*rate.Limiter{}
	}
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) > 100000 {
			clear(l.buckets) // bound memory; a reset only forgives
		}
		b = rate.NewLimiter(rate.Every(addressEvery), addressBurst)
		l.buckets[addr] = b
	}
	r := b.ReserveN(now, 1)
	d = r.DelayFrom(now)
	if d > maxHold {
		r.CancelAt(now)
		return 0, false, func() {}
	}
	return d, true, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		r.CancelAt(now)
	}
}
