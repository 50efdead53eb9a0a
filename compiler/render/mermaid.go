package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/leadlang/lead/compiler/ir"
)

// Mermaid renders the workflow as a Mermaid flowchart (`flowchart LR`).
//
// A flowchart rather than a stateDiagram-v2: cells are chained, so edges
// run between stages of different cells (marketing.advance ->
// teleprospecting.assess), and Mermaid's state diagrams cannot draw a
// transition between states inside different composite states. Flowchart
// subgraphs can, so each cell is a subgraph labelled with its name. The
// start is a `start` circle with an edge to the start stage, terminal
// stages are double circles (the flowchart's `[*]`), and edge labels are
// those of the DOT output. SLA edges are dashed and red, exception edges
// dotted; workflow-level exception edges start at one "any stage" node.
//
// Node IDs are generated (s0, s1, ... in stage order; c0, ... for cells),
// so no stage name can collide with Mermaid's keywords; names appear only
// in quoted, entity-escaped labels.
func Mermaid(w *ir.Workflow) string {
	var b strings.Builder
	title := w.Name
	if w.Title != "" {
		title += ": " + w.Title
	}
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nflowchart LR\n", strconv.Quote(title))
	b.WriteString("  start((start))\n")

	id := map[string]string{}
	for i := range w.Stages {
		id[w.Stages[i].Name] = "s" + strconv.Itoa(i)
	}
	for ci, g := range groups(w) {
		indent := "  "
		if g.cell != "" {
			fmt.Fprintf(&b, "  subgraph c%d [\"%s\"]\n", ci, mermaidText(g.cell))
			indent = "    "
		}
		for _, s := range g.stages {
			b.WriteString(indent + mermaidNode(id[s.Name], s) + "\n")
		}
		if g.cell != "" {
			b.WriteString("  end\n")
		}
	}

	edges := w.Edges()
	for _, e := range edges {
		if e.From == "" {
			b.WriteString("  any([\"any stage\"])\n")
			break
		}
	}
	b.WriteString("\n")
	link := 0
	var styles []string
	if w.Start != "" {
		fmt.Fprintf(&b, "  start --> %s\n", id[w.Start])
		link++
	}
	for _, e := range edges {
		from := "any"
		if e.From != "" {
			from = id[e.From]
		}
		arrow := "-->"
		switch e.Kind {
		case ir.EdgeSLA:
			arrow = "-.->"
			styles = append(styles, fmt.Sprintf("  linkStyle %d stroke:#b22222,color:#b22222", link))
		case ir.EdgeException:
			arrow = "-.->"
			styles = append(styles, fmt.Sprintf("  linkStyle %d stroke-dasharray:2 4", link))
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", from, arrow, mermaidText(e.Label), id[e.To])
		link++
	}
	for _, s := range styles {
		b.WriteString(s + "\n")
	}
	return b.String()
}

// mermaidNode declares a stage's node: rounded, or a double circle when
// terminal, with its SLAs under its name.
func mermaidNode(id string, s *ir.Stage) string {
	label := mermaidText(s.Name)
	for _, sla := range s.SLAs {
		label += "<br/>" + mermaidText(slaLine(sla))
	}
	if s.Terminal {
		return fmt.Sprintf("%s(((\"%s\")))", id, label)
	}
	return fmt.Sprintf("%s(\"%s\")", id, label)
}

// mermaidEscaper escapes text for a quoted Mermaid label: characters that
// Mermaid's grammar or the HTML it renders to would read become numeric
// entity codes (#34; and so on, Mermaid's escape syntax; so '#' itself is
// escaped), and line breaks become spaces.
var mermaidEscaper = strings.NewReplacer(
	"#", "#35;", `"`, "#34;", "&", "#38;", "<", "#60;", ">", "#62;",
	"|", "#124;", "`", "#96;", "\r", "", "\n", " ",
)

func mermaidText(s string) string { return mermaidEscaper.Replace(s) }
