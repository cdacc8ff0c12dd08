// Command server runs the patient portal: `go run ./server` serves it on the
// embedded SQLite store, creating, migrating and filling it with demo data
// on first start. `go run ./server migrate` applies the migrations to the
// configured database (the way a MySQL store is migrated).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/bench"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/demo"
	"github.com/patientportal/portal/server/fhir"
	"github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/notify"
	"github.com/patientportal/portal/server/observe"
	"github.com/patientportal/portal/server/store"
)

// defaultGCPercent is the portal's GOGC when the environment sets none:
// the heap may grow to five times what is live before a collection (see
// README "Performance" for the memory it costs).
const defaultGCPercent = 400

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// JSON lines, each logged in a request carrying its request_id.
	slog.SetDefault(slog.New(observe.NewLogHandler(slog.NewJSONHandler(stderr, nil))))
	if getenv("GOGC") == "" {
		// Go's default of 100 collects after every few dashboards: the
		// live heap is small and requests allocate a lot, so collections
		// cost a sixth of the CPU. GOGC set by the operator wins.
		debug.SetGCPercent(defaultGCPercent)
	}
	command := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		command, args = args[0], args[1:]
	}
	if command == "bench" {
		// The performance harness parses its own flags (the server's go
		// after --); see README "Performance".
		return bench.Main(ctx, args, getenv, stdout, stderr)
	}
	cfg, err := config.Load(command, args, getenv, stderr)
	if err != nil {
		return err
	}
	switch command {
	case "serve":
		return serve(ctx, cfg, stdout)
	case "migrate":
		return migrate(ctx, cfg, stdout)
	case "apikey":
		return apiKey(ctx, cfg, stdout)
	default:
		return fmt.Errorf("unknown command %q (serve, migrate, apikey, bench)", command)
	}
}

func migrate(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database migrated")
	return nil
}

// apiKey makes, lists or revokes an organisation's FHIR integration keys.
// A new key is printed alone on the last line, for scripts to take.
func apiKey(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckVersion(ctx); err != nil {
		return fmt.Errorf("%w (run `server migrate` first)", err)
	}
	switch {
	case cfg.APIKey.List:
		keys, err := fhir.Keys(ctx, st.Client, cfg.APIKey.Org)
		if err != nil {
			return err
		}
		for _, k := range keys {
			state := "live"
			if k.RevokedAt != nil {
				state = "revoked " + k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%s %s... created %s %s\n", k.ID, k.Hint, k.CreatedAt.Format(time.RFC3339), state)
		}
		return nil
	case cfg.APIKey.Revoke != "":
		if err := fhir.RevokeKey(ctx, st.Client, cfg.APIKey.Org, pulid.ID(cfg.APIKey.Revoke), time.Now().UTC()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", cfg.APIKey.Revoke)
		return nil
	}
	key, k, err := fhir.NewKey(ctx, st.Client, cfg.APIKey.Org)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "integration key %s for %s: send it as Authorization: Bearer <key> to /fhir/r4; it is not shown again\n", k.ID, strings.ToUpper(cfg.APIKey.Org))
	fmt.Fprintln(stdout, key)
	return nil
}

func serve(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	embedded := st.Dialect == "sqlite3"
	if embedded {
		// The embedded store migrates itself; a MySQL store is migrated
		// explicitly, and the server refuses a schema it does not know.
		if err := st.Migrate(ctx); err != nil {
			return err
		}
	} else if err := st.CheckVersion(ctx); err != nil {
		return fmt.Errorf("%w (run `server migrate` first)", err)
	}

	service, err := app.New(st.Client, cfg, nil)
	if err != nil {
		return err
	}
	service.SetStoreCheck(st.Ping)
	if err := service.Metrics.Register(collectors.NewDBStatsCollector(st.DB, "portal")); err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "https"
	}
	srv := &http.Server{
		Handler:           service,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var admin *http.Server
	if cfg.AdminAddr != "" {
		aln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("admin listener: %w", err)
		}
		admin = &http.Server{Handler: service.Admin(cfg.PProf), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = admin.Serve(aln) }()
		fmt.Fprintf(stdout, "admin (metrics) listening on %s\n", displayURL("http", aln.Addr()))
	}
	fmt.Fprintf(stdout, "patient portal listening on %s\n", displayURL(scheme, ln.Addr()))

	creds, err := demo.Ensure(ctx, st.Client, cfg.Demo || embedded, time.Now())
	if err != nil {
		_ = srv.Close()
		return err
	}
	if creds != nil {
		for _, line := range demo.Lines(creds) {
			fmt.Fprintln(stdout, line)
		}
	}
	service.SetReady()

	sender, err := mail.New(cfg.Mail)
	if err != nil {
		_ = srv.Close()
		return err
	}
	// The mailer writes notification emails into the outbox; the worker
	// sends the outbox. Either may stop at any point: the outbox rows,
	// claimed in transactions, carry on at the next start. They run on a
	// context of their own, stopped only once the requests have finished,
	// so that the last flush sees everything those requests wrote.
	mailer := &notify.Mailer{Client: st.Client, Viewers: service.Sessions, PortalURL: strings.TrimSuffix(cfg.PublicURL, "/")}
	worker := &mail.Worker{Client: st.Client, Sender: sender}
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	workers.Go(func() { mailer.Run(work, cfg.MailInterval) })
	workers.Go(func() {
		if err := worker.Run(work, cfg.MailInterval); err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("mail worker stopped", "err", err)
		}
	})

	select {
	case err := <-served:
		stopWork()
		workers.Wait()
		return err
	case <-ctx.Done():
	}
	stopWork() // no new tick starts; the flush below is the last word
	return shutdown(service, srv, admin, func(ctx context.Context) error {
		stopped := make(chan struct{})
		go func() { workers.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
		return flushMail(ctx, mailer, worker)
	}, cfg.ShutdownTimeout)
}

// shutdown stops the server within timeout: it stops accepting, lets the
// requests in flight finish, ends every subscription (server-sent events
// with their complete event, websockets with close 1001 "going away"),
// then flushes the mail outbox one last time. Past the timeout the
// remaining connections are cut; what was not sent stays in the outbox
// for the next start.
func shutdown(service *app.App, srv, admin *http.Server, flush func(context.Context) error, timeout time.Duration) error {
	began := time.Now()
	slog.Info("shutting down", "timeout", timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	finished := make(chan error, 1)
	go func() { finished <- srv.Shutdown(ctx) }()
	service.Drain.Start()
	var errs []error
	if err := <-finished; err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
		errs = append(errs, fmt.Errorf("requests still running at the shutdown deadline: %w", err))
	}
	if err := service.Drain.Wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("websockets still open at the shutdown deadline: %w", err))
	}
	if err := flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("last mail flush: %w", err))
	}
	if admin != nil {
		_ = admin.Shutdown(ctx)
	}
	slog.Info("shut down", "took_ms", time.Since(began).Milliseconds(), "clean", len(errs) == 0)
	return errors.Join(errs...)
}

// flushMail turns the notifications that are due into emails and sends
// the outbox until nothing due is left or ctx ends.
func flushMail(ctx context.Context, mailer *notify.Mailer, worker *mail.Worker) error {
	if _, err := mailer.Dispatch(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		sent, err := worker.SendDue(ctx)
		if err != nil || sent == 0 {
			return err
		}
	}
	return ctx.Err()
}

// displayURL is the address to open in a browser.
func displayURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
