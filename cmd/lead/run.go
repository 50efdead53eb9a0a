package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

func init() {
	register(&command{name: "run", summary: "serve workflows durably over HTTP", run: runRun})
}

const runDoc = `
Run serves the workflows in PATH (files or directories) with the durable
runtime: leads live in an embedded Badger store under --data, every
acknowledged event is on disk, SLA and timeout timers fire on time even
across restarts, and a workflow file that is saved and compiles becomes the
active version at once (a save that does not compile keeps the last good
version serving; GET /v1/workflows shows the diagnostics).

The HTTP API is described in INTERFACES.md. With --token (or $LEAD_TOKEN)
every request but /healthz needs 'Authorization: Bearer TOKEN'. With
--webhook URL every notification is also POSTed there, at least once.
SIGINT or SIGTERM stops gracefully: in-flight steps finish and commit.`

func runRun(env *cmdEnv, args []string) int {
	fl := newFlags(env, "run", "[--addr HOST:PORT] [--data DIR] [--token TOKEN] [--webhook URL] PATH...", runDoc)
	addr := fl.String("addr", "127.0.0.1:7420", "listen on `HOST:PORT`")
	data := fl.String("data", "./.lead-data", "store data in `DIR`")
	token := fl.String("token", env.getenv("LEAD_TOKEN"), "require this bearer `TOKEN` (default $LEAD_TOKEN)")
	webhook := fl.String("webhook", "", "POST notifications to `URL`")
	noWatch := fl.Bool("no-watch", false, "do not reload workflows when their files change")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	paths, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(paths) == 0 {
		return fl.usageError("no PATH given")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return ioError(env, "run", err)
		}
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	service.TuneProcess(env.getenv)

	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		return ioError(env, "run", fmt.Errorf("open store %s: %w", *data, err))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc := service.New(service.Config{
		Paths: paths, Store: st, Logger: log, Watch: !*noWatch, Webhook: *webhook,
		Registerer: reg, StandardsPath: standardsPath(env, standards),
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := svc.Start(ctx); err != nil {
		st.Close()
		fmt.Fprintf(env.stderr, "lead run: %v\n", err)
		return exitUsage // an I/O error: reading workflows or the store
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		svc.Close(context.Background())
		st.Close()
		return ioError(env, "run", err)
	}
	srv := httpapi.Server(*addr, httpapi.New(svc, httpapi.Options{Token: *token, Gatherer: reg}))
	infos, _ := svc.Workflows(ctx)
	names := make([]string, 0, len(infos))
	for _, w := range infos {
		names = append(names, w.Name)
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "data", *data, "workflows", fmt.Sprint(names), "auth", *token != "")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	status := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing in-flight steps (signal again to stop at once)")
		stop() // a second signal now ends the process: Go's default
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server", "err", err)
			status = exitFail
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Error("shutdown", "err", err)
	}
	if err := svc.Close(shutdown); err != nil {
		log.Error("shutdown", "err", err)
	}
	if err := st.Close(); err != nil {
		log.Error("close store", "err", err)
		status = exitFail
	}
	log.Info("stopped")
	return status
}
