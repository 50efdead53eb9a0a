package main

import (
	"github.com/leadlang/lead/compiler/render"
)

func init() {
	register(&command{name: "graph", summary: "print the compiled state machine (dot, mermaid, json)", run: runGraph})
}

const graphDoc = `
Graph compiles the workflow in FILE and prints its state machine: as a
Graphviz digraph (dot; render it with 'dot -Tsvg'), as a Mermaid flowchart
(mermaid; GitHub renders it in Markdown), or as the compiler's IR (json).

Stages are nodes, grouped by cell; terminal stages are double circles; the
edges carry their event, guard or timer (timers and SLAs on a business
calendar in working hours); a move that happens when no earlier condition
holds is labelled "otherwise", one that happens at once "always". SLA
edges are dashed and red, exception edges dotted. If the workflow has errors, graph prints them to
stderr and exits with status 1.`

func runGraph(env *cmdEnv, args []string) int {
	fl := newFlags(env, "graph", "[--format dot|mermaid|json] [--standards DIR]... FILE", graphDoc)
	format := fl.String("format", "dot", "output `FORMAT`: dot, mermaid or json")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	rest, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if code, ok := fl.oneOf("format", *format, render.GraphFormats); !ok {
		return code
	}
	w, code := compileOne(env, fl, rest, standards)
	if w == nil {
		return code
	}
	out, err := render.Graph(w, *format)
	if err != nil {
		return ioError(env, "graph", err)
	}
	if _, err := env.stdout.Write(out); err != nil {
		return ioError(env, "graph", err)
	}
	return exitOK
}
