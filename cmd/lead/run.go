package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leadlang/lead/runtime/cluster"
	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/postgres"
)

func init() {
	register(&command{name: "run", summary: "serve workflows durably over HTTP", run: runRun})
}

const runDoc = `
Run serves the workflows in PATH (files or directories) with the durable
runtime: leads live in an embedded Badger store under --data, or in the
PostgreSQL database that --store (or $LEAD_STORE) names as a postgres://
URL; every acknowledged event is durable, SLA and timeout timers fire on
time even across restarts, and a workflow file that is saved and compiles
becomes the active version at once (a save that does not compile keeps
the last good version serving; GET /v1/workflows shows the diagnostics).
On PostgreSQL, the schema (?schema=NAME in the URL, default lead) is
created and migrated at start; docs/operations.md describes the database's
settings, sizing and backups.

The HTTP API is described by docs/api/openapi.json, which the server
also serves at GET /v1/openapi.json; docs/runtime.md is the operator's
guide. With a token ($LEAD_TOKEN,
--token-file FILE, or --token) every request but /healthz and /readyz needs
'Authorization: Bearer TOKEN'; --token-file and $LEAD_TOKEN keep it out of
'ps'. Listening beyond loopback without a token is refused unless
--insecure-no-auth is given. The server answers only to localhost, IP
literals, the --addr host and --allowed-host names (a guard against DNS
rebinding), and takes writes only as application/json. With --webhook URL
every notification is also POSTed there, at least once. Writes are refused
(507) while the store's disk has less than --min-free-space free, and
resume once space is freed. SIGINT or SIGTERM stops gracefully: in-flight
steps finish and commit.`

func runRun(env *cmdEnv, args []string) int {
	fl := newFlags(env, "run", "[--addr HOST:PORT] [--data DIR | --store URL] [--token-file FILE] [--webhook URL] PATH...", runDoc)
	addr := fl.String("addr", "127.0.0.1:7420", "listen on `HOST:PORT`")
	data := fl.String("data", "./.lead-data", "store data in `DIR` (Badger, the embedded store)")
	storeURL := fl.String("store", env.getenv("LEAD_STORE"), "keep the store in the PostgreSQL database at `URL` (postgres://USER@HOST/DB?schema=NAME; default $LEAD_STORE) instead of --data")
	token := fl.String("token", "", "require this bearer `TOKEN` (visible in ps: prefer $LEAD_TOKEN or --token-file)")
	tokenFile := fl.String("token-file", "", "require the bearer token in `FILE`")
	insecure := fl.Bool("insecure-no-auth", false, "allow listening beyond loopback without a token")
	var hosts stringList
	fl.Var(&hosts, "allowed-host", "also answer to requests for `HOST` (repeatable)")
	minFree := fl.String("min-free-space", "", "refuse writes while the store's disk has less than `SIZE` free (e.g. 512MiB, 2GiB; default max(512MiB, 4 memtables))")
	webhook := fl.String("webhook", "", "POST notifications to `URL`")
	stepsWebhook := fl.String("steps-webhook", "", "POST every committed step to `URL` as NDJSON batches, at least once and in order (the step stream for BI)")
	noWatch := fl.Bool("no-watch", false, "do not reload workflows when their files change")
	noReports := fl.Bool("no-reports", false, "keep no report counters (the reports answer from stale counters; they are rebuilt from history at the next start without this flag)")
	advertise := fl.String("advertise", "", "with --store, the `URL` other nodes forward requests to this one at (default: http:// and the address --addr listens on)")
	nodeID := fl.String("node-id", "", "with --store, this node's `ID` in the cluster (default: the --advertise URL)")
	lease := fl.Duration("lease", cluster.DefaultLease, "with --store, how long this node's leases of partitions hold without renewal: a dead node's leads are served by the others within it")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	paths, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(paths) == 0 {
		return fl.usageError("no PATH given")
	}
	tok, err := serverToken(env, *token, *tokenFile)
	if err != nil {
		return fl.usageError("%v", err)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fl.usageError("invalid --addr %q: %v", *addr, err)
	}
	if tok == "" && !*insecure && !loopbackHost(host) {
		fmt.Fprintf(env.stderr, "lead run: --addr %s listens beyond this machine and no token is set, so anyone who can reach it could read and change every lead; set a token ($LEAD_TOKEN or --token-file FILE), or pass --insecure-no-auth to run without one\n", *addr)
		return exitUsage
	}
	freeSpace, err := parseSize(*minFree)
	if err != nil {
		return fl.usageError("invalid --min-free-space %q: %v", *minFree, err)
	}
	if *storeURL != "" {
		if !postgres.IsURL(*storeURL) {
			return fl.usageError("invalid --store: want a postgres:// URL (the embedded store is chosen with --data DIR)")
		}
		if flagGiven(fl, "data") {
			return fl.usageError("give --data (the embedded store) or --store (PostgreSQL), not both")
		}
		if *minFree != "" {
			return fl.usageError("--min-free-space is for the embedded store (--data); PostgreSQL's disk is the database server's")
		}
		if *lease < time.Second {
			return fl.usageError("invalid --lease %v: at least 1s", *lease)
		}
		if *advertise != "" {
			if u, err := url.Parse(*advertise); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fl.usageError("invalid --advertise %q: want an http:// or https:// URL", *advertise)
			}
		}
	} else {
		for _, f := range []string{"advertise", "node-id", "lease"} {
			if flagGiven(fl, f) {
				return fl.usageError("--%s is for nodes that share a PostgreSQL store (--store)", f)
			}
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return ioError(env, "run", err)
		}
	}
	// The port first: if it is taken, say so before anything is loaded.
	ln, err := net.Listen("tcp", *addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(env.stderr, "lead run: %s is already in use: is another lead run (or another server) listening there? Stop it, or choose another address with --addr (make run ADDR=127.0.0.1:7421)\n", *addr)
		return exitUsage
	}
	if err != nil {
		return ioError(env, "run", err)
	}
	defer ln.Close()
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	service.TuneProcess(env.getenv)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var st store.Store
	var node *cluster.Node
	where := *data
	if *storeURL != "" {
		where = redactURL(*storeURL)
		var pg *postgres.Store
		pg, err = postgres.Open(context.Background(), *storeURL, postgres.Options{Logger: log})
		if err == nil {
			st = pg
			// Every node on PostgreSQL is a node of a cluster, alone or not:
			// it writes only to the partitions it holds.
			adv := *advertise
			if adv == "" {
				adv = advertiseURL(ln.Addr())
			}
			node, err = cluster.Join(context.Background(), pg, cluster.Options{ID: *nodeID, Addr: adv, Lease: *lease, Logger: log, Registerer: reg})
			if err != nil {
				pg.Close()
			}
		}
	} else {
		st, err = store.Open(*data, store.Options{Logger: log, MinFreeSpace: freeSpace})
	}
	if err != nil {
		return ioError(env, "run", fmt.Errorf("open store %s: %w", where, err))
	}
	cfg := service.Config{
		Paths: paths, Store: st, Logger: log, Watch: !*noWatch, Webhook: *webhook, StepsWebhook: *stepsWebhook, NoReports: *noReports,
		Registerer: reg, StandardsPath: standardsPath(env, standards),
	}
	if node != nil {
		cfg.Ownership = node
	}
	svc := service.New(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := svc.Start(ctx); err != nil {
		if node != nil {
			node.Close(context.Background())
		}
		st.Close()
		fmt.Fprintf(env.stderr, "lead run: %v\n", err)
		return exitUsage // an I/O error: reading workflows or the store
	}
	var h http.Handler = httpapi.New(svc, httpapi.Options{Token: tok, Gatherer: reg, Hosts: append([]string{host}, hosts...)})
	if node != nil {
		h = node.Forward(h)
		node.SetLive(svc.Live)
	}
	srv := httpapi.Server(*addr, h)
	infos, _ := svc.Workflows(ctx)
	names := make([]string, 0, len(infos))
	for _, w := range infos {
		names = append(names, w.Name)
	}
	if node != nil {
		log.Info("cluster node", "node", node.ID(), "advertise", node.Addr(), "partitions", len(node.Parts()), "lease", node.Lease())
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "data", where, "workflows", fmt.Sprint(names), "auth", tok != "")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(httpapi.JSONErrors(ln)) }()

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
	if node != nil {
		// The partitions go to the other nodes now, not once the leases
		// run out.
		if err := node.Close(shutdown); err != nil {
			log.Error("leave the cluster", "err", err)
		}
	}
	if err := st.Close(); err != nil {
		log.Error("close store", "err", err)
		status = exitFail
	}
	log.Info("stopped")
	return status
}

// advertiseURL is the URL of a listening address, for other nodes: an
// address on every interface is advertised by the host's name.
func advertiseURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// flagGiven reports whether a flag was set on the command line.
func flagGiven(fl *cmdFlags, name string) bool {
	given := false
	fl.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// redactURL hides a URL's password, for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	return u.Redacted()
}

// serverToken is the token lead run requires: --token, else the first
// line of --token-file, else $LEAD_TOKEN ("" for none).
func serverToken(env *cmdEnv, flagged, file string) (string, error) {
	switch {
	case flagged != "" && file != "":
		return "", errors.New("give --token or --token-file, not both")
	case flagged != "":
		return flagged, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok, _, _ := strings.Cut(string(b), "\n")
		if tok = strings.TrimSpace(tok); tok == "" {
			return "", fmt.Errorf("--token-file %s: the file is empty", file)
		}
		return tok, nil
	}
	return env.getenv("LEAD_TOKEN"), nil
}

// loopbackHost reports whether host (of --addr) listens on this machine
// only: a loopback address, or a name every address of which is one.
// "" and 0.0.0.0 listen everywhere.
func loopbackHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if host == "" {
		return false
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// parseSize reads a size such as 512MiB, 2GiB, 1.5G or 1048576 (bytes);
// "" is 0 (the default).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num := strings.TrimRight(s, "KMGTiBkmgtib")
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f < 0 {
		return 0, errors.New("want a size such as 512MiB or 2GiB")
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: want B, KiB, MiB, GiB or TiB", unit)
	}
	return int64(f * mult), nil
}
