// Package broker tells server processes that an account has something new,
// so that its open subscriptions look at once instead of at their next
// poll. It carries account IDs only, never content: what the account may
// see is read from the store, through the access rules, by the subscriber.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
)

// ErrUnsupportedURL reports a broker URL that is neither redis:// nor nats://.
var ErrUnsupportedURL = errors.New("broker: unsupported URL")

// Broker publishes and subscribes to per-account wake-ups.
type Broker interface {
	// Publish wakes the account's subscribers on every server.
	Publish(ctx context.Context, account string) error
	// Subscribe returns a channel that receives a value at each wake-up of
	// the account, until ctx is done.
	Subscribe(ctx context.Context, account string) (<-chan struct{}, error)
	// Close releases the connection.
	Close() error
}

// Open returns the broker rawURL names: redis://host:port, nats://host:port,
// or, when empty, one inside this process (a single server).
func Open(rawURL string) (Broker, error) {
	if rawURL == "" {
		return NewLocal(), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedURL, err)
	}
	switch u.Scheme {
	case "redis", "rediss":
		return openRedis(rawURL)
	case "nats":
		return openNATS(rawURL)
	}
	return nil, fmt.Errorf("%w: scheme %q", ErrUnsupportedURL, u.Scheme)
}

// subject is the channel an account's wake-ups travel on.
func subject(account string) string { return "portal.notify." + account }

// Local is a Broker inside one process.
type Local struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]bool
}

// NewLocal returns an in-process Broker.
func NewLocal() *Local { return &Local{subs: map[string]map[chan struct{}]bool{}} }

// Publish implements Broker.
func (l *Local) Publish(_ context.Context, account string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs[account] {
		wake(ch)
	}
	return nil
}

// Subscribe implements Broker.
func (l *Local) Subscribe(ctx context.Context, account string) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	if l.subs[account] == nil {
		l.subs[account] = map[chan struct{}]bool{}
	}
	l.subs[account][ch] = true
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		l.mu.Lock()
		delete(l.subs[account], ch)
		l.mu.Unlock()
	}()
	return ch, nil
}

// Close implements Broker.
func (l *Local) Close() error { return nil }

// wake signals ch without blocking: one pending wake-up is as good as many.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
