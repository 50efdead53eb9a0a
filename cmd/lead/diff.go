package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/store"
)

func init() {
	register(&command{name: "diff", summary: "compare two versions of a workflow", run: runDiff})
}

const diffDoc = `
Diff prints what changed between two versions of a workflow: stages, lead
fields and events added or removed, and per stage the transitions, timers,
SLAs and owners that changed. OLD and NEW are workflow files (for instance
an old revision written out with git show).

With --data DIR (a 'lead run' data directory), OLD and NEW may also be
version hashes stored there, and each change shows how many in-flight
leads it affects: the leads of the workflow in the stage concerned (for a
workflow-wide change, all its in-flight leads). Badger admits one process
per directory: stop 'lead run' first, or point --data at a copy.

Exit status: 0 no differences; 1 differences found; 2 usage or I/O error.`

func runDiff(env *cmdEnv, args []string) int {
	fl := newFlags(env, "diff", "[--data DIR] [--standards DIR]... OLD NEW", diffDoc)
	data := fl.String("data", "", "a lead run data `DIR`: count affected in-flight leads")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return fl.usageError("expected OLD and NEW, got %d arguments", len(pos))
	}
	var st store.Store
	if *data != "" {
		b, err := store.Open(*data, store.Options{})
		if err != nil {
			return ioError(env, "diff", fmt.Errorf("open %s: %w", *data, err))
		}
		defer b.Close()
		st = b
	}
	load := func(arg string) (*ir.Workflow, int) {
		if _, err := os.Stat(arg); err == nil || st == nil {
			return compileOne(env, fl, []string{arg}, standards)
		}
		versions, err := st.Versions(context.Background())
		if err != nil {
			return nil, ioError(env, "diff", err)
		}
		for _, v := range versions {
			if v.Version == arg {
				var w ir.Workflow
				if err := json.Unmarshal(v.IR, &w); err != nil {
					return nil, ioError(env, "diff", fmt.Errorf("stored version %s: %w", arg, err))
				}
				return &w, exitOK
			}
		}
		return nil, fl.usageError("%s is neither a file nor a version stored in %s", arg, *data)
	}
	old, code := load(pos[0])
	if old == nil {
		return code
	}
	cur, code := load(pos[1])
	if cur == nil {
		return code
	}
	if old.Name != cur.Name {
		fmt.Fprintf(env.stderr, "lead diff: note: comparing different workflows %s and %s\n", old.Name, cur.Name)
	}
	changes := ir.Diff(old, cur)
	if len(changes) == 0 {
		fmt.Fprintln(env.stdout, "no differences")
		return exitOK
	}
	counts := map[string]int{}
	total := 0
	if st != nil {
		cursor := ""
		for {
			page, next, err := st.Leads(context.Background(), store.Query{Workflow: old.Name, Limit: 1000, Cursor: cursor})
			if err != nil {
				return ioError(env, "diff", err)
			}
			for _, l := range page {
				if !l.Terminal {
					counts[l.Stage]++
					total++
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	for _, c := range changes {
		line := c.String()
		if st != nil {
			n := total
			if c.Stage != "" {
				n = counts[c.Stage]
			}
			line += fmt.Sprintf("  (%d in-flight %s)", n, plural(n, "lead", "leads"))
		}
		fmt.Fprintln(env.stdout, line)
	}
	return exitFail
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
