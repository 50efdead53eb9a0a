// Package render draws a compiled workflow for people and tools: Graphviz
// DOT and Mermaid diagrams of the state machine, the IR as JSON, and the
// RACI matrix of its stages as Markdown or CSV. It reads only the IR, so
// every picture speaks of the expanded stage names the runtime uses.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/leadlang/lead/compiler/ir"
)

// GraphFormats lists the formats Graph accepts, the default first.
var GraphFormats = []string{"dot", "mermaid", "json"}

// Graph renders w in format, one of GraphFormats.
func Graph(w *ir.Workflow, format string) ([]byte, error) {
	switch format {
	case "dot":
		return []byte(Dot(w)), nil
	case "mermaid":
		return []byte(Mermaid(w)), nil
	case "json":
		return JSON(w)
	}
	return nil, fmt.Errorf("unknown graph format %q (want one of %s)", format, strings.Join(GraphFormats, ", "))
}

// JSON returns the IR as indented JSON ending in a newline. The output is
// stable: struct fields keep their declared order and map keys are sorted.
// Expressions keep their <, > and & as written rather than \u escapes.
func JSON(w *ir.Workflow) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("marshal workflow %s: %w", w.Name, err)
	}
	return b.Bytes(), nil
}

// slaLine describes an SLA for a stage's node: "sla accept within 1d", or
// on a calendar in working hours as timeouts are, "sla first_touch within
// 24h on std.us_business", with its clock if it has one ("from entry").
func slaLine(s ir.SLA) string {
	line := "sla " + s.Name + " within " + ir.DescribeLength(s.Within, s.Written, s.Calendar, s.Choices)
	if s.Clock != "" {
		line += " from " + s.Clock
	}
	return line
}

// group is a cell's stages, or one stage outside any cell.
type group struct {
	cell   string // "" for a stage outside any cell
	stages []*ir.Stage
}

// groups orders the stages for drawing: each cell's stages together, at the
// place of the cell's first stage, and the other stages on their own.
func groups(w *ir.Workflow) []group {
	var out []group
	index := map[string]int{}
	for i := range w.Stages {
		s := &w.Stages[i]
		if s.Cell == "" {
			out = append(out, group{stages: []*ir.Stage{s}})
			continue
		}
		if j, ok := index[s.Cell]; ok {
			out[j].stages = append(out[j].stages, s)
			continue
		}
		index[s.Cell] = len(out)
		out = append(out, group{cell: s.Cell, stages: []*ir.Stage{s}})
	}
	return out
}
