package main

import (
	"fmt"
	"os"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/compiler/report"
)

// compileOne compiles the single FILE argument of graph and raci. On
// failure it has printed why and returns a nil workflow and the exit code:
// 2 for a usage or I/O error, 1 when the workflow has errors (printed as
// `lead check` prints them).
func compileOne(env *cmdEnv, fl *cmdFlags, args []string, standards stringList) (*ir.Workflow, int) {
	switch len(args) {
	case 0:
		return nil, fl.usageError("no FILE given")
	case 1:
	default:
		return nil, fl.usageError("expected one FILE, got %d arguments", len(args))
	}
	path := args[0]
	info, err := os.Stat(path)
	if err != nil {
		return nil, ioError(env, fl.name, err)
	}
	if info.IsDir() {
		return nil, fl.usageError("%s is a directory: give one workflow file", path)
	}
	r := compiler.CompileFile(path, compiler.Options{StandardsPath: standardsPath(env, standards), SkipTests: true})
	if r.Workflow == nil || r.Diags.HasErrors() {
		report.Text(env.stderr, r.Diags)
		if s := report.Summary(r.Diags); s != "" {
			fmt.Fprintln(env.stderr, s)
		}
		return nil, exitFail
	}
	return r.Workflow, exitOK
}
