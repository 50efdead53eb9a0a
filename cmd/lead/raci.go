package main

import (
	"github.com/leadlang/lead/compiler/render"
)

func init() {
	register(&command{name: "raci", summary: "print the RACI matrix of a workflow (md, csv)", run: runRACI})
}

const raciDoc = `
Raci compiles the workflow in FILE and prints its RACI matrix: a row per
stage and a column per role, team, routing or person that is Responsible,
Accountable, Consulted or Informed at some stage, or that its actions
Escalate to. A cell holds the letters, combined as "R/A" when a party has
several. Teams, routings and people chosen by an expression are headed
"team: T", "route: R" and "user: EXPR"; escalation targets chosen by an
expression "escalate: EXPR".

md prints a GitHub Markdown table, csv a CSV file with a header row. If the
workflow has errors, raci prints them to stderr and exits with status 1.`

func runRACI(env *cmdEnv, args []string) int {
	fl := newFlags(env, "raci", "[--format md|csv] [--standards DIR]... FILE", raciDoc)
	format := fl.String("format", "md", "output `FORMAT`: md or csv")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	rest, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if code, ok := fl.oneOf("format", *format, render.RACIFormats); !ok {
		return code
	}
	w, code := compileOne(env, fl, rest, standards)
	if w == nil {
		return code
	}
	out, err := render.RACI(w, *format)
	if err != nil {
		return ioError(env, "raci", err)
	}
	if _, err := env.stdout.Write(out); err != nil {
		return ioError(env, "raci", err)
	}
	return exitOK
}
