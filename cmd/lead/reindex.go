package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

func init() {
	register(&command{name: "reindex", summary: "rebuild a stopped server's report counters from history", run: runReindex})
}

const reindexDoc = `
Reindex rebuilds the counters the reports read (conversion, velocity, SLA
attainment, aging, owner load) from every lead's history, in the store
in --data DIR, which no server may be using. lead run rebuilds them by
itself when it starts on a store whose counters were kept by another
version of Lead, by a server run with --no-reports, or by a rebuild that
was cut short; reindex is for doing it ahead of time, or after restoring
an old backup. It prints how many counters it wrote.`

func runReindex(env *cmdEnv, args []string) int {
	fl := newFlags(env, "reindex", "--data DIR", reindexDoc)
	data := fl.String("data", "", "the store's `DIR` (required; no server may be using it)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fl.usageError("unexpected argument %q", pos[0])
	}
	if *data == "" {
		return fl.usageError("--data DIR is required")
	}
	if err := existingStore(*data); err != nil {
		return ioError(env, "reindex", err)
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		return ioError(env, "reindex", fmt.Errorf("open store %s: %w (stop the server using it first)", *data, err))
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Marked as needing a rebuild, the store has its counters rebuilt
	// when a service starts on it: one with no workflow files, which
	// loads the versions the leads ran on and takes no steps.
	if err := st.PutMeta(ctx, report.SchemaKey, []byte("requested")); err != nil {
		return ioError(env, "reindex", err)
	}
	svc := service.New(service.Config{Store: st, Logger: log, ManualTimers: true})
	if err := svc.Start(ctx); err != nil {
		return ioError(env, "reindex", err)
	}
	if err := svc.Close(context.Background()); err != nil {
		return ioError(env, "reindex", err)
	}
	n, err := store.CounterMap(ctx, st, "", "")
	if err != nil {
		return ioError(env, "reindex", err)
	}
	fmt.Fprintf(env.stdout, "rebuilt %d counters from history\n", len(n))
	return exitOK
}
