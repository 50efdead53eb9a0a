package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/leadlang/lead/runtime/cluster"
	"github.com/leadlang/lead/runtime/store/postgres"
)

func init() {
	register(&command{name: "cluster", summary: "show the nodes that share a PostgreSQL store", run: runCluster})
}

const clusterDoc = `
Cluster status lists the lead run nodes that share the PostgreSQL store at
--store URL (default $LEAD_STORE): each node's id, the address it is
reached at, whether its heartbeat holds, how many of the 256 partitions
it holds, and its lag: how many timers of its partitions are due now and
how long the oldest of them has been due. A last line counts the
partitions no node holds (they are changing hands) and their due timers.
docs/operations.md describes running several nodes.`

func runCluster(env *cmdEnv, args []string) int {
	fl := newFlags(env, "cluster", "status [--store URL]", clusterDoc)
	storeURL := fl.String("store", env.getenv("LEAD_STORE"), "the PostgreSQL store's `URL` (postgres://USER@HOST/DB?schema=NAME; default $LEAD_STORE)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 || pos[0] != "status" {
		return fl.usageError("want: lead cluster status [--store URL]")
	}
	if !postgres.IsURL(*storeURL) {
		return fl.usageError("--store URL (or $LEAD_STORE) must name a postgres:// database")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, *storeURL, postgres.Options{MaxConns: 2})
	if err != nil {
		return ioError(env, "cluster", err)
	}
	defer st.Close()
	s, err := cluster.ReadStatus(ctx, st)
	if err != nil {
		return ioError(env, "cluster", err)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tADDRESS\tLIVE\tPARTITIONS\tDUE TIMERS\tLAG")
	for _, n := range s.Nodes {
		live := "yes"
		if !n.Live {
			live = "no (since " + n.Expires.UTC().Format(time.RFC3339) + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", n.ID, n.Addr, live, n.Partitions, n.Due, n.Lag.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "(no owner)\t\t\t%d\t%d\t\n", s.Unowned, s.UnownedDue)
	w.Flush()
	return exitOK
}
