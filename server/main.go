// Command server runs the patient portal: `go run ./server` serves it on the
// embedded SQLite store, creating, migrating and filling it with demo data
// on first start. `go run ./server migrate` applies the migrations to the
// configured database (the way a MySQL store is migrated).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/bench"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/demo"
	"github.com/patientportal/portal/server/fhir"
	"github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/notify"
	"github.com/patientportal/portal/server/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	slog.SetDefault(slog.New(slog.NewJSONHandler(stderr, nil)))
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
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           service,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "patient portal listening on %s\n", displayURL(ln.Addr()))

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
	// claimed in transactions, carry on at the next start.
	mailer := &notify.Mailer{Client: st.Client, Viewers: service.Sessions, PortalURL: strings.TrimSuffix(cfg.PublicURL, "/")}
	go mailer.Run(ctx, cfg.MailInterval)
	worker := &mail.Worker{Client: st.Client, Sender: sender}
	go func() {
		if err := worker.Run(ctx, cfg.MailInterval); err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("mail worker stopped", "err", err)
		}
	}()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// displayURL is the address to open in a browser.
func displayURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
