package render

import (
	"fmt"
	"strings"

	"github.com/leadlang/lead/compiler/ir"
)

// Node IDs that no stage can have: stage names are identifiers, possibly
// qualified with dots.
const (
	dotStart = "<start>"
	dotAny   = "*"
)

// Dot renders the workflow as a Graphviz digraph: stages are nodes
// (terminal ones double circles), each cell's stages sit in a cluster
// labelled with the cell's name, a point node marks the start, and the
// edges of w.Edges() carry their event, guard or timer as labels. SLA edges
// are dashed and red; workflow-level exception edges start at one "any
// stage" node and are dotted, like stage-level ones.
func Dot(w *ir.Workflow) string {
	var b strings.Builder
	title := w.Name
	if w.Title != "" {
		title += ": " + w.Title
	}
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(w.Name))
	fmt.Fprintf(&b, "  label=%s;\n  labelloc=t;\n  fontname=\"Helvetica\";\n  rankdir=LR;\n", dotQuote(title))
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n\n")
	fmt.Fprintf(&b, "  %s [shape=point, width=0.15, label=\"\"];\n", dotQuote(dotStart))

	for _, g := range groups(w) {
		indent := "  "
		if g.cell != "" {
			fmt.Fprintf(&b, "  subgraph %s {\n", dotQuote("cluster_"+g.cell))
			fmt.Fprintf(&b, "    label=%s;\n    style=\"rounded,dashed\";\n    color=gray50;\n", dotQuote(g.cell))
			indent = "    "
		}
		for _, s := range g.stages {
			b.WriteString(indent + dotNode(s) + "\n")
		}
		if g.cell != "" {
			b.WriteString("  }\n")
		}
	}

	edges := w.Edges()
	for _, e := range edges {
		if e.From == "" {
			fmt.Fprintf(&b, "  %s [label=\"any stage\", style=\"rounded,dotted\"];\n", dotQuote(dotAny))
			break
		}
	}
	b.WriteString("\n")
	if w.Start != "" {
		fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(dotStart), dotQuote(w.Start))
	}
	for _, e := range edges {
		from := e.From
		if from == "" {
			from = dotAny
		}
		attrs := []string{"label=" + dotQuote(e.Label)}
		switch e.Kind {
		case ir.EdgeSLA:
			attrs = append(attrs, "style=dashed", "color=firebrick", "fontcolor=firebrick")
		case ir.EdgeException:
			attrs = append(attrs, "style=dotted")
		}
		fmt.Fprintf(&b, "  %s -> %s [%s];\n", dotQuote(from), dotQuote(e.To), strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	return b.String()
}

// dotNode declares a stage's node, with its SLAs under its name.
func dotNode(s *ir.Stage) string {
	label := s.Name
	for _, sla := range s.SLAs {
		label += "\n" + slaLine(sla)
	}
	attrs := []string{"label=" + dotQuote(label)}
	if s.Terminal {
		attrs = append(attrs, "shape=doublecircle")
	}
	return fmt.Sprintf("%s [%s];", dotQuote(s.Name), strings.Join(attrs, ", "))
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", `\n`)

// dotQuote writes s as a DOT double-quoted string. Backslashes are doubled
// so that Graphviz's label escapes (\N, \l, ...) never fire by accident;
// newlines become \n, which centres the next line.
func dotQuote(s string) string { return `"` + dotEscaper.Replace(s) + `"` }
