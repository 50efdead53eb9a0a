package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/report"
	"github.com/leadlang/lead/runtime/leadtest"
)

func init() {
	register(&command{name: "test", summary: "run test blocks on a virtual clock", run: runTest})
}

const testDoc = `
Test runs the test blocks of workflows (and of their NAME_test.lead files) on
the real engine with a virtual clock: 'wait' advances time and fires due
timers in order, without sleeping. Each test starts on a fresh, empty store;
tests run in parallel and always give the same result.

A failing test prints 'file:line: expect failed: EXPR' with the values the
expression reads and the lead's last steps. With --cover, each workflow's
transition coverage is printed: the graph edges the tests exercised, and
every edge they did not, with its position.

With --format json the output is one object: {"tests": [{"name", "file",
"line", "status": "pass"|"fail", "message"}], "coverage": {"edges",
"covered"}}, and with --cover also "coverage.workflows", each workflow's
edges with those not exercised.

Exit status: 0 all tests pass; 1 a test failed or a workflow has errors;
2 usage or I/O error.`

func runTest(env *cmdEnv, args []string) int {
	fl := newFlags(env, "test", "[--run REGEX] [--cover] [--format text|json] [--standards DIR]... PATH...", testDoc)
	runRe := fl.String("run", "", "run only tests whose name matches `REGEX`")
	cover := fl.Bool("cover", false, "report transition coverage")
	format := fl.String("format", "text", "output `FORMAT`: text or json")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	paths, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if code, ok := fl.oneOf("format", *format, []string{"text", "json"}); !ok {
		return code
	}
	if len(paths) == 0 {
		return fl.usageError("no PATH given")
	}
	var filter *regexp.Regexp
	if *runRe != "" {
		re, err := regexp.Compile(*runRe)
		if err != nil {
			return fl.usageError("invalid --run regular expression: %v", err)
		}
		filter = re
	}
	status := exitOK
	files, errs := leadFiles(paths)
	for _, err := range errs {
		status = ioError(env, "test", err)
	}
	ws := compiler.NewWorkspace(compiler.Options{StandardsPath: standardsPath(env, standards)})
	ds, errs := ws.Check(files)
	for _, err := range errs {
		status = ioError(env, "test", err)
	}
	if ds.HasErrors() {
		report.Text(env.stderr, ds)
		fmt.Fprintln(env.stderr, report.Summary(ds))
		return exitFail
	}
	var suites []*leadtest.Suite
	for _, r := range ws.Results {
		s, err := leadtest.NewSuite(r)
		if err != nil {
			fmt.Fprintf(env.stderr, "lead test: %v\n", err)
			return exitFail
		}
		suites = append(suites, s)
	}
	results, cov := leadtest.Run(suites, filter)
	failed := 0
	for _, r := range results {
		if r.Status != leadtest.Pass {
			failed++
		}
	}
	if *format == "json" {
		writeTestJSON(env, results, cov, *cover)
	} else {
		writeTestText(env, results, cov, *cover, failed)
	}
	switch {
	case status != exitOK:
		return status
	case failed > 0:
		return exitFail
	}
	return exitOK
}

func writeTestText(env *cmdEnv, results []leadtest.Result, cov []leadtest.Coverage, cover bool, failed int) {
	for _, r := range results {
		if r.Status == leadtest.Pass {
			continue
		}
		fmt.Fprintf(env.stdout, "--- FAIL: %s\n    %s\n", r.Name, strings.ReplaceAll(r.Message, "\n", "\n    "))
	}
	if cover {
		for _, c := range cov {
			fmt.Fprintf(env.stdout, "coverage: %s: %d of %d edges (%s)\n", c.Workflow, c.Covered, c.Edges, percent(c.Covered, c.Edges))
			for _, e := range c.Missing {
				from := e.From
				if from == "" {
					from = "(any stage)"
				}
				fmt.Fprintf(env.stdout, "    %s: %s -> %s [%s] not exercised\n", e.Pos, from, e.To, e.Label)
			}
		}
	}
	switch {
	case len(results) == 0:
		fmt.Fprintln(env.stdout, "no tests to run")
	case failed > 0:
		fmt.Fprintf(env.stdout, "FAIL: %d of %d tests failed\n", failed, len(results))
	default:
		fmt.Fprintf(env.stdout, "ok: %d tests passed\n", len(results))
	}
}

func percent(n, of int) string {
	if of == 0 {
		return "no edges"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// testJSON is the --format json shape of docs/cli.md, with per-workflow
// coverage detail under coverage.workflows when --cover is given.
type testJSON struct {
	Tests    []leadtest.Result `json:"tests"`
	Coverage struct {
		Edges     int                 `json:"edges"`
		Covered   int                 `json:"covered"`
		Workflows []leadtest.Coverage `json:"workflows,omitempty"`
	} `json:"coverage"`
}

func writeTestJSON(env *cmdEnv, results []leadtest.Result, cov []leadtest.Coverage, cover bool) {
	var out testJSON
	out.Tests = results
	if out.Tests == nil {
		out.Tests = []leadtest.Result{}
	}
	for _, c := range cov {
		out.Coverage.Edges += c.Edges
		out.Coverage.Covered += c.Covered
	}
	if cover {
		out.Coverage.Workflows = cov
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}
