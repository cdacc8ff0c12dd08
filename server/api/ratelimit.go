package api

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"

	"github.com/patientportal/portal/ent/access"
)

// ErrRateLimited refuses a request over its client's rate.
var ErrRateLimited = errors.New("too many requests: slow down and retry")

// Rate is a token bucket: Limit requests a second on average, Burst at once.
// A zero Limit turns it off.
type Rate struct {
	Limit float64
	Burst int
}

// RateConfig configures a RateLimiter.
type RateConfig struct {
	// PerAddress applies to each client address (an IPv6 client by its /64).
	PerAddress Rate
	// PerViewer applies to each signed-in account, wherever it calls from.
	PerViewer Rate
	// TrustedProxyHeader names the header a trusted reverse proxy sets to
	// the client's address (X-Forwarded-For: its last entry); empty to use
	// the connection's address.
	TrustedProxyHeader string
	// MaxClients bounds each table of buckets; 100,000 when zero.
	MaxClients int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// RateLimiter holds one token bucket per client address and per viewer,
// answering a client over its rate with 429, Retry-After and RATE_LIMITED.
type RateLimiter struct {
	cfg       RateConfig
	addresses *buckets
	viewers   *buckets
}

// NewRateLimiter returns a limiter over cfg.
func NewRateLimiter(cfg RateConfig) *RateLimiter {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RateLimiter{
		cfg:       cfg,
		addresses: newBuckets(cfg.PerAddress, cfg.MaxClients),
		viewers:   newBuckets(cfg.PerViewer, cfg.MaxClients),
	}
}

// ByAddress limits each client address. Behind a trusted proxy it also
// puts the client's address in the request's RemoteAddr, so that what runs
// after it (sign-in throttling, the access log) sees the client, not the
// proxy.
func (l *RateLimiter) ByAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := l.clientIP(r)
		if l.cfg.TrustedProxyHeader != "" && ip != nil {
			r = r.Clone(r.Context())
			r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		}
		key := r.RemoteAddr
		if ip != nil {
			key = addressKey(ip)
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			// The connection's operations are counted against it too
			// (see Sockets).
			r = r.WithContext(context.WithValue(r.Context(), socketKey{}, key))
		}
		if wait, ok := l.addresses.take(key, l.cfg.Now()); !ok {
			refuseRate(w, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ByViewer limits each signed-in viewer; it runs after the session
// middleware has put the viewer in the context.
func (l *RateLimiter) ByViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := access.FromContext(r.Context()); v != nil && v.AccountID != "" {
			if wait, ok := l.viewers.take(string(v.AccountID), l.cfg.Now()); !ok {
				refuseRate(w, wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// socketKey holds, in a websocket connection's context, the address key
// its upgrade was counted under.
type socketKey struct{}

// Sockets returns the gqlgen extension that counts each operation sent
// over a websocket against its address's and its viewer's buckets, as if
// it were a request of its own: ByAddress and ByViewer see only the
// upgrade, after which a connection could otherwise send operations
// without limit. An operation over the rate is refused with RATE_LIMITED.
func (l *RateLimiter) Sockets() graphql.HandlerExtension { return socketRates{l} }

type socketRates struct{ l *RateLimiter }

var (
	_ graphql.HandlerExtension        = socketRates{}
	_ graphql.OperationContextMutator = socketRates{}
)

// ExtensionName implements graphql.HandlerExtension.
func (socketRates) ExtensionName() string { return "SocketRates" }

// Validate implements graphql.HandlerExtension.
func (socketRates) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (s socketRates) MutateOperationContext(ctx context.Context, _ *graphql.OperationContext) *gqlerror.Error {
	key, onSocket := ctx.Value(socketKey{}).(string)
	if !onSocket {
		return nil // an HTTP request, counted by ByAddress and ByViewer
	}
	now := s.l.cfg.Now()
	wait, ok := s.l.addresses.take(key, now)
	if v := access.FromContext(ctx); ok && v != nil && v.AccountID != "" {
		wait, ok = s.l.viewers.take(string(v.AccountID), now)
	}
	if ok {
		return nil
	}
	return &gqlerror.Error{Message: ErrRateLimited.Error(), Err: ErrRateLimited, Extensions: map[string]any{
		"code": CodeRateLimited, "retryAfter": int(math.Ceil(max(wait, time.Second).Seconds())),
	}}
}

// clientIP is the request's client: from the trusted header when one is
// configured and present, else from the connection.
func (l *RateLimiter) clientIP(r *http.Request) net.IP {
	if h := l.cfg.TrustedProxyHeader; h != "" {
		if v := r.Header.Values(h); len(v) > 0 {
			// The proxy appends the address it saw: the last entry is the
			// only one a client cannot forge.
			list := strings.Split(v[len(v)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(list[len(list)-1])); ip != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

// addressKey is an IPv4 address, or an IPv6 address's /64: one household
// or host holds a whole /64.
func addressKey(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// refuseRate answers 429 with the seconds to wait.
func refuseRate(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
	writeRefusal(w, http.StatusTooManyRequests, ErrRateLimited)
}

// buckets is a bounded table of token buckets. An entry idle long enough
// to have refilled is the same as a new one, so dropping it loses nothing:
// that is how the table stays small.
type buckets struct {
	rate Rate
	max  int
	// idle is how long a bucket takes to refill from empty.
	idle time.Duration

	mu        sync.Mutex
	entries   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

func newBuckets(r Rate, maxEntries int) *buckets {
	b := &buckets{rate: r, max: maxEntries, entries: map[string]*bucket{}}
	if r.Limit > 0 {
		r.Burst = max(r.Burst, 1)
		b.rate.Burst = r.Burst
		b.idle = time.Duration(float64(r.Burst) / r.Limit * float64(time.Second))
	}
	return b
}

// take spends a token of key's bucket, or says how long until one is due.
func (b *buckets) take(key string, now time.Time) (time.Duration, bool) {
	if b.rate.Limit <= 0 {
		return 0, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil {
		if len(b.entries) >= b.max || now.Sub(b.lastSweep) > time.Minute {
			b.sweep(now)
		}
		e = &bucket{limiter: rate.NewLimiter(rate.Limit(b.rate.Limit), b.rate.Burst)}
		b.entries[key] = e
	}
	e.seen = now
	res := e.limiter.ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return wait, false
	}
	return 0, true
}

// sweep drops the buckets that have refilled; if the table is still full
// (many clients at once), it drops others at random, each of which then
// starts again with a full burst.
func (b *buckets) sweep(now time.Time) {
	b.lastSweep = now
	for k, e := range b.entries {
		if now.Sub(e.seen) >= b.idle {
			delete(b.entries, k)
		}
	}
	for k := range b.entries {
		if len(b.entries) < b.max {
			break
		}
		delete(b.entries, k)
	}
}
