package render

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/leadlang/lead/compiler/ir"
)

// RACIFormats lists the formats RACI accepts, the default first.
var RACIFormats = []string{"md", "csv"}

// Matrix is a workflow's RACI matrix: a row per stage, in the workflow's
// order, and a column per party that holds a RACI letter at some stage.
type Matrix struct {
	// Columns name the parties: a role by its name, a team as "team: T",
	// a routing (`responsible route R`) as "route: R", a person chosen by an
	// expression (`responsible user EXPR`) as "user: EXPR", and an
	// escalation target chosen by an expression (`escalate (EXPR)`) as
	// "escalate: EXPR".
	Columns []string
	Rows    []MatrixRow
}

// MatrixRow is one stage's letters, one cell per column: "R", "A", "C",
// "I", and "E" for a party the stage's actions escalate to, combined in
// that order as "R/A" when a party has several, or "".
type MatrixRow struct {
	Stage string
	Cells []string
}

// party kinds in column order: roles first, then teams, routings, users.
const (
	partyRole = iota
	partyTeam
	partyRoute
	partyUser
	partyEscalate
)

type party struct {
	kind  int
	name  string
	order int // declaration order within its kind; users: first use
}

func (p party) column() string {
	switch p.kind {
	case partyTeam:
		return "team: " + p.name
	case partyRoute:
		return "route: " + p.name
	case partyUser:
		return "user: " + p.name
	case partyEscalate:
		return "escalate: " + p.name
	}
	return p.name
}

// RACIMatrix builds the matrix from the stages' owners, after the compiler
// applied the workflow, cell and stage defaults.
func RACIMatrix(w *ir.Workflow) Matrix {
	declared := map[[2]string]int{}
	for i, r := range w.Roles {
		declared[[2]string{"role", r.Name}] = i
	}
	for i, t := range w.Teams {
		declared[[2]string{"team", t.Name}] = i
	}
	for i, r := range w.Routings {
		declared[[2]string{"route", r.Name}] = i
	}
	parties := map[string]*party{}
	var list []*party
	add := func(kind int, key, name string) string {
		col := party{kind: kind, name: name}.column()
		if _, ok := parties[col]; !ok {
			order, ok := declared[[2]string{key, name}]
			if !ok {
				order = len(declared) + len(list) // undeclared (or a user): after the declared ones
			}
			parties[col] = &party{kind: kind, name: name, order: order}
			list = append(list, parties[col])
		}
		return col
	}

	type mark struct {
		col    string
		letter byte
	}
	var marks [][]mark
	for i := range w.Stages {
		o := w.Stages[i].Owner
		var ms []mark
		if r := o.Responsible; r != nil {
			switch r.Kind {
			case ir.AssignTeam:
				ms = append(ms, mark{add(partyTeam, "team", r.Name), 'R'})
			case ir.AssignRoute:
				ms = append(ms, mark{add(partyRoute, "route", r.Name), 'R'})
			case ir.AssignUser:
				if r.User != nil {
					ms = append(ms, mark{add(partyUser, "user", r.User.Src), 'R'})
				}
			default:
				ms = append(ms, mark{add(partyRole, "role", r.Name), 'R'})
			}
		}
		if o.Accountable != "" {
			ms = append(ms, mark{add(partyRole, "role", o.Accountable), 'A'})
		}
		for _, c := range o.Consulted {
			ms = append(ms, mark{add(partyRole, "role", c), 'C'})
		}
		for _, c := range o.Informed {
			ms = append(ms, mark{add(partyRole, "role", c), 'I'})
		}
		for _, a := range stageActions(&w.Stages[i]) {
			switch {
			case a.Kind != ir.ActEscalate:
			case a.To != nil:
				ms = append(ms, mark{add(partyEscalate, "escalate", a.To.Src), 'E'})
			default:
				ms = append(ms, mark{add(partyRole, "role", a.Target), 'E'})
			}
		}
		marks = append(marks, ms)
	}

	sort.SliceStable(list, func(i, j int) bool {
		if list[i].kind != list[j].kind {
			return list[i].kind < list[j].kind
		}
		return list[i].order < list[j].order
	})
	m := Matrix{Columns: make([]string, len(list))}
	index := map[string]int{}
	for i, p := range list {
		m.Columns[i] = p.column()
		index[m.Columns[i]] = i
	}
	for i := range w.Stages {
		letters := make([]string, len(list))
		for _, letter := range "RACIE" {
			for _, mk := range marks[i] {
				if rune(mk.letter) != letter {
					continue
				}
				c := index[mk.col]
				if strings.ContainsRune(letters[c], letter) {
					continue
				}
				if letters[c] != "" {
					letters[c] += "/"
				}
				letters[c] += string(letter)
			}
		}
		m.Rows = append(m.Rows, MatrixRow{Stage: w.Stages[i].Name, Cells: letters})
	}
	return m
}

// stageActions lists every action a stage's blocks hold.
func stageActions(s *ir.Stage) []ir.Action {
	acts := append(append([]ir.Action(nil), s.Enter...), s.Exit...)
	for _, t := range s.On {
		acts = append(acts, t.Actions...)
	}
	for _, h := range s.Handlers {
		acts = append(acts, h.Actions...)
	}
	for _, t := range s.When {
		acts = append(acts, t.Actions...)
	}
	for _, t := range s.After {
		acts = append(acts, t.Actions...)
	}
	for _, sla := range s.SLAs {
		if sla.Warn != nil {
			acts = append(acts, sla.Warn.Actions...)
		}
		acts = append(acts, sla.Breach...)
	}
	for _, e := range s.Exceptions {
		acts = append(acts, e.Actions...)
	}
	return acts
}

// RACI renders the RACI matrix in format, one of RACIFormats: "md", a
// GitHub-flavoured Markdown table with padded columns, or "csv", with a
// header row `stage,<column>...`.
func RACI(w *ir.Workflow, format string) ([]byte, error) {
	m := RACIMatrix(w)
	switch format {
	case "md":
		return m.Markdown(), nil
	case "csv":
		return m.CSV()
	}
	return nil, fmt.Errorf("unknown RACI format %q (want one of %s)", format, strings.Join(RACIFormats, ", "))
}

// Markdown renders the matrix as a GitHub-flavoured Markdown table, its
// columns padded so the text reads as a table too.
func (m Matrix) Markdown() []byte {
	header := append([]string{"stage"}, m.Columns...)
	rows := [][]string{header}
	for _, r := range m.Rows {
		rows = append(rows, append([]string{r.Stage}, r.Cells...))
	}
	for _, row := range rows {
		for i := range row {
			row[i] = mdEscaper.Replace(row[i])
		}
	}
	width := make([]int, len(header))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c), 3)
		}
	}
	var b bytes.Buffer
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			pad := width[i] - utf8.RuneCountInString(c)
			if i == 0 {
				b.WriteString(" " + c + strings.Repeat(" ", pad) + " |")
				continue
			}
			left := pad / 2 // the letters are centred
			b.WriteString(" " + strings.Repeat(" ", left) + c + strings.Repeat(" ", pad-left) + " |")
		}
		b.WriteString("\n")
	}
	line(rows[0])
	b.WriteString("|")
	for i, wd := range width {
		if i == 0 {
			b.WriteString(" " + strings.Repeat("-", wd) + " |")
		} else {
			b.WriteString(" :" + strings.Repeat("-", wd-2) + ": |")
		}
	}
	b.WriteString("\n")
	for _, row := range rows[1:] {
		line(row)
	}
	return b.Bytes()
}

// mdEscaper keeps a cell inside its column: a '|' would end it, a line
// break would end the row.
var mdEscaper = strings.NewReplacer("|", `\|`, "\r", "", "\n", " ")

// CSV renders the matrix as CSV with a header row `stage,<column>...`.
func (m Matrix) CSV() ([]byte, error) {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	if err := cw.Write(append([]string{"stage"}, m.Columns...)); err != nil {
		return nil, err
	}
	for _, r := range m.Rows {
		if err := cw.Write(append([]string{r.Stage}, r.Cells...)); err != nil {
			return nil, err
		}
	}
	cw.Flush()
	return b.Bytes(), cw.Error()
}
