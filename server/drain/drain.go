// Package drain ends the server's long-lived streams cleanly when it shuts
// down. http.Server.Shutdown stops accepting and lets ordinary requests
// finish, but it neither ends a subscription (a server-sent-events stream
// never finishes by itself) nor waits for a websocket (a hijacked
// connection is no longer the server's). After Start, every subscription
// ends: a server-sent-events stream with its complete event, a websocket
// with the close frame 1001 "going away"; Wait returns once every
// websocket connection is closed.
package drain

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
)

// ErrShuttingDown is the cause of a stream's context ending at shutdown.
var ErrShuttingDown = errors.New("drain: the server is shutting down")

// Websocket close code and reason at shutdown (RFC 6455, 7.4.1).
const (
	CloseGoingAway  = 1001
	goingAwayReason = "going away"
)

// Drain is the shutdown signal for streams. The zero value is not usable;
// call New.
type Drain struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	conns map[*conn]struct{}
	idle  chan struct{} // closed when conns becomes empty
}

// New returns a Drain that has not started.
func New() *Drain {
	ctx, cancel := context.WithCancelCause(context.Background())
	idle := make(chan struct{})
	close(idle)
	return &Drain{ctx: ctx, cancel: cancel, conns: map[*conn]struct{}{}, idle: idle}
}

// Start ends every stream, now and from now on.
func (d *Drain) Start() { d.cancel(ErrShuttingDown) }

// Draining reports whether Start has been called.
func (d *Drain) Draining() bool { return d.ctx.Err() != nil }

// Context returns a child of parent that also ends when Start is called.
func (d *Drain) Context(parent context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(d.ctx, func() { cancel(ErrShuttingDown) })
	context.AfterFunc(ctx, func() { stop() })
	return ctx
}

// Wait returns when every websocket connection has closed, or when ctx
// ends; then it closes those left and returns ctx's error.
func (d *Drain) Wait(ctx context.Context) error {
	for {
		d.mu.Lock()
		if len(d.conns) == 0 {
			d.mu.Unlock()
			return nil
		}
		idle := d.idle
		d.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			d.mu.Lock()
			left := make([]*conn, 0, len(d.conns))
			for c := range d.conns {
				left = append(left, c)
			}
			d.mu.Unlock()
			for _, c := range left {
				_ = c.Close()
			}
			return ctx.Err()
		}
	}
}

// Middleware tracks the connections that websocket upgrades take over,
// for Wait.
func (d *Drain) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&hijackWriter{ResponseWriter: w, d: d}, r)
	})
}

func (d *Drain) track(c *conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) == 0 {
		d.idle = make(chan struct{})
	}
	d.conns[c] = struct{}{}
}

func (d *Drain) untrack(c *conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conns[c]; !ok {
		return
	}
	delete(d.conns, c)
	if len(d.conns) == 0 {
		close(d.idle)
	}
}

type hijackWriter struct {
	http.ResponseWriter
	d *Drain
}

// Hijack implements http.Hijacker.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("drain: response cannot be hijacked")
	}
	nc, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := &conn{Conn: nc, d: w.d}
	w.d.track(c)
	return c, rw, nil
}

// Flush implements http.Flusher.
func (w *hijackWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the writer beneath.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// conn is a hijacked connection; closing it is the end of the websocket,
// after its close handshake.
type conn struct {
	net.Conn
	d    *Drain
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.d.untrack(c) })
	return err
}

// Websocket wraps gqlgen's websocket implementation so that a connection
// closed while the server drains says 1001 "going away" (the client should
// reconnect elsewhere), not 1000 "terminated".
func (d *Drain) Websocket(impl transport.WebsocketImplementation) transport.WebsocketImplementation {
	return websocketImpl{impl: impl, d: d}
}

type websocketImpl struct {
	impl transport.WebsocketImplementation
	d    *Drain
}

func (w websocketImpl) Accept(rw http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := w.impl.Accept(rw, r, opts)
	if err != nil {
		return nil, err
	}
	return &websocketConn{WebsocketConn: c, d: w.d}, nil
}

type websocketConn struct {
	transport.WebsocketConn
	d *Drain
}

func (c *websocketConn) WriteClose(code int, message string) error {
	if c.d.Draining() && code == transport.WebsocketCloseNormalClosure {
		code, message = CloseGoingAway, goingAwayReason
	}
	return c.WebsocketConn.WriteClose(code, message)
}

// SetReadLimit passes transport.WebsocketReadLimiter through.
func (c *websocketConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline passes transport.WebsocketReadDeadliner through.
func (c *websocketConn) SetReadDeadline(t time.Time) error {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return l.SetReadDeadline(t)
	}
	return nil
}

// Extension is the gqlgen extension that ends every subscription when
// draining starts.
func (d *Drain) Extension() graphql.HandlerExtension { return extension{d} }

type extension struct{ d *Drain }

func (extension) ExtensionName() string { return "Drain" }

func (extension) Validate(graphql.ExecutableSchema) error { return nil }

func (e extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
		ctx = e.d.Context(ctx)
	}
	return next(ctx)
}
