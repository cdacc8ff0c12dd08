package observe

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
)

// maxOperations bounds the operation label: past this many distinct
// names, new ones are counted as "other", so that a client inventing names
// cannot grow the metrics without bound.
const maxOperations = 100

// Labels that stand for many operations.
const (
	// OperationAnonymous labels operations without a name.
	OperationAnonymous = "anonymous"
	// OperationOther labels names past the limit, or malformed.
	OperationOther = "other"
)

// scrapeTimeout bounds the database queries a scrape makes.
const scrapeTimeout = 2 * time.Second

// Metrics are the service's Prometheus metrics, in a registry of their own
// (with the Go runtime's and the process's).
type Metrics struct {
	registry      *prometheus.Registry
	duration      *prometheus.HistogramVec
	errors        *prometheus.CounterVec
	subscriptions prometheus.Gauge

	mu    sync.Mutex
	names map[string]bool
}

// NewMetrics registers the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portal_graphql_request_duration_seconds",
			Help: "Time from reading a GraphQL request to its complete response, by operation name and type (queries and mutations).",
			// 1 ms to 10 s: the dashboard's goal is a p99 under 25 ms.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"operation", "type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_graphql_errors_total",
			Help: "Errors in GraphQL responses, by extensions.code.",
		}, []string{"code"}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portal_graphql_subscriptions_open",
			Help: "Subscriptions running now, over websockets and server-sent events.",
		}),
		names: map[string]bool{},
	}
	m.registry.MustRegister(m.duration, m.errors, m.subscriptions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors, such as collectors.NewDBStatsCollector.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the metrics in the Prometheus text format. A collector
// that fails (the database is down) is left out of that scrape; the rest
// are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slogPrinter{},
	})
}

// CountError counts an error with code in a response, and notes it on the
// request's log line.
func (m *Metrics) CountError(ctx context.Context, code string) {
	if !errorCode(code) {
		code = OperationOther
	}
	m.errors.WithLabelValues(code).Inc()
	if r := FromContext(ctx); r != nil {
		r.AddError(code)
	}
}

// errorCode reports whether code looks like the codes we and gqlgen use
// (UPPER_SNAKE, short); anything else is folded.
func errorCode(code string) bool {
	if code == "" || len(code) > 40 {
		return false
	}
	for _, c := range []byte(code) {
		if !(c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// operation is the label for an operation name.
func (m *Metrics) operation(name string) string {
	if name == "" {
		return OperationAnonymous
	}
	if !graphqlName(name) {
		return OperationOther
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names[name] {
		return name
	}
	if len(m.names) >= maxOperations {
		return OperationOther
	}
	m.names[name] = true
	return name
}

// Extension is the gqlgen extension that records each operation: its
// name on the request's log line, its duration, and the subscriptions
// open.
func (m *Metrics) Extension() graphql.HandlerExtension { return extension{m} }

type extension struct{ m *Metrics }

func (extension) ExtensionName() string { return "Observe" }

func (extension) Validate(graphql.ExecutableSchema) error { return nil }

func (e extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, kind := oc.OperationName, "query"
	if oc.Operation != nil {
		kind = string(oc.Operation.Operation)
		if name == "" {
			name = oc.Operation.Name
		}
	}
	if r := FromContext(ctx); r != nil {
		r.SetOperation(name, kind)
	}
	label := e.m.operation(name)
	if kind == string(ast.Subscription) {
		// The gauge falls when the stream ends or its context does,
		// whichever comes first.
		e.m.subscriptions.Inc()
		var once sync.Once
		end := func() { once.Do(e.m.subscriptions.Dec) }
		stop := context.AfterFunc(ctx, end)
		responses := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			res := responses(ctx)
			if res == nil {
				stop()
				end()
			}
			return res
		}
	}
	start := oc.Stats.OperationStart
	if start.IsZero() {
		start = time.Now()
	}
	responses := next(ctx)
	var once sync.Once
	return func(ctx context.Context) *graphql.Response {
		res := responses(ctx)
		once.Do(func() {
			e.m.duration.WithLabelValues(label, kind).Observe(time.Since(start).Seconds())
		})
		return res
	}
}

// QueryGauge is a gauge read from the database at each scrape, with a
// timeout; when the query fails the gauge is left out of that scrape.
func QueryGauge(name, help string, read func(context.Context) (float64, error)) prometheus.Collector {
	return &queryGauge{desc: prometheus.NewDesc(name, help, nil, nil), read: read}
}

type queryGauge struct {
	desc *prometheus.Desc
	read func(context.Context) (float64, error)
}

func (g *queryGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *queryGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	v, err := g.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(g.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
}

// slogPrinter sends promhttp's errors to the structured log.
type slogPrinter struct{}

func (slogPrinter) Println(v ...any) {
	slog.Warn("metrics scrape", "err", v)
}
