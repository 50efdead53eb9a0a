package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

// The client commands' scripts run against a real server: the service
// and the HTTP API over a Badger store in the script's directory, in this
// test process, on a virtual clock, so that their output is the same on
// every run. The scripts' `lead` commands read that clock too, from
// $LEAD_TEST_NOW (testLeadMain): "3h ago" is always 3h ago.

// scriptEpoch is when a script's server starts.
var scriptEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// testLeadMain is `lead` as the scripts run it: leadMain, with the clock
// of $LEAD_TEST_NOW when it is set.
func testLeadMain() int {
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
	if s := os.Getenv("LEAD_TEST_NOW"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "LEAD_TEST_NOW:", err)
			return exitUsage
		}
		env.now = func() time.Time { return t }
	}
	return run(env, os.Args[1:])
}

// scriptServer is a script's server.
type scriptServer struct {
	svc *service.Service
	now atomic.Int64 // the virtual clock, Unix nanoseconds
}

func (s *scriptServer) clock() time.Time { return time.Unix(0, s.now.Load()).UTC() }

// serve is the script command `serve PATH...`: it starts a server for the
// workflows in PATH, sets $LEAD_SERVER to its address, $LEAD_TEST_NOW to
// its clock and $VERSION_name to each workflow's active version, and stops
// it when the script ends.
func serve(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: serve PATH...")
	}
	var paths []string
	for _, a := range args {
		paths = append(paths, ts.MkAbs(a))
	}
	st, err := store.Open(ts.MkAbs(".lead-data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	ts.Check(err)
	s := &scriptServer{}
	s.now.Store(scriptEpoch.UnixNano())
	svc := service.New(service.Config{Paths: paths, Store: st, Clock: s.clock, ManualTimers: true})
	s.svc = svc
	ts.Check(svc.Start(context.Background()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: httpapi.New(svc, httpapi.Options{})}
	go srv.Serve(ln)
	ts.Defer(func() {
		srv.Close()
		svc.Close(context.Background())
		st.Close()
	})
	infos, err := svc.Workflows(context.Background())
	ts.Check(err)
	for _, w := range infos {
		ts.Setenv("VERSION_"+w.Name, w.Active)
	}
	ts.Setenv("LEAD_SERVER", "http://"+ln.Addr().String())
	ts.Setenv("LEAD_TEST_NOW", s.clock().Format(time.RFC3339Nano))
	if _, loaded := servers.LoadOrStore(ts, s); loaded {
		ts.Fatalf("serve: a script runs one server")
	}
	ts.Defer(func() { servers.Delete(ts) })
}

// servers maps each script to its server (scripts run in parallel).
var servers sync.Map // *testscript.TestScript → *scriptServer

// clockCmd is the script command `clock advance DURATION`: it moves the
// server's clock and $LEAD_TEST_NOW on, firing every timer due by then in
// order, as lead run would have, and returns once their steps are durable.
func clockCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || args[0] != "advance" {
		ts.Fatalf("usage: clock advance DURATION")
	}
	v, ok := servers.Load(ts)
	if !ok {
		ts.Fatalf("clock: no server: run serve first")
	}
	s := v.(*scriptServer)
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	now := s.clock().Add(d)
	ts.Check(s.svc.RunTimers(context.Background(), now, func(t time.Time) { s.now.Store(t.UnixNano()) }))
	s.now.Store(now.UnixNano())
	ts.Setenv("LEAD_TEST_NOW", now.Format(time.RFC3339Nano))
}
