package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/leadlang/lead/runtime/client"
)

func init() {
	register(&command{name: "report", summary: "print a report of a running server: funnel, velocity, sla, aging, owners", run: runReport})
}

const reportDoc = `
Report prints one of a running server's reports:

  funnel     leads captured in the window that reached each lifecycle label,
             with conversion rates
  velocity   time from capture to each label, and time in each stage (p50, p90)
  sla        SLA outcomes: met, warned, breached, exempt, and attainment
  aging      leads now in each stage by how long they have been there,
             and the stuck leads
  owners     each team member's open leads, assignments and events

--from and --to are dates (YYYY-MM-DD; the last 30 days by default);
--by breaks the report down by an enum or string field of the lead;
--interval splits it by day or week. The table is for people; --format json
and --format csv are for scripts and spreadsheets.`

func runReport(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "report", "KIND [--workflow W] [--from DATE] [--to DATE] [--by FIELD] [--interval day|week] [--format table|json|csv]", reportDoc)
	workflow := fl.String("workflow", "", "only workflow `NAME` (default: every workflow, by lifecycle label)")
	from := fl.String("from", "", "first `DATE` of the window")
	to := fl.String("to", "", "last `DATE` of the window")
	by := fl.String("by", "", "break down by `FIELD`")
	interval := fl.String("interval", "", "split by `day` or week")
	format := fl.String("format", "table", "output `FORMAT`: table, json or csv")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fl.usageError("expected one KIND: funnel, velocity, sla, aging or owners")
	}
	if code, ok := fl.oneOf("format", *format, []string{"table", "json", "csv"}); !ok {
		return code
	}
	params := url.Values{}
	for k, v := range map[string]string{"workflow": *workflow, "from": *from, "to": *to, "by": *by, "interval": *interval} {
		if v != "" {
			params.Set(k, v)
		}
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).Report(c, pos[0], params, *format == "csv")
	if err != nil {
		return answer(env, "report", nil, err)
	}
	switch *format {
	case "csv":
		env.stdout.Write(raw)
		return exitOK
	case "json":
		return answer(env, "report", raw, nil)
	}
	var rep struct {
		Kind       string           `json:"report"`
		From       string           `json:"from"`
		To         string           `json:"to"`
		Definition string           `json:"definition"`
		Columns    []string         `json:"columns"`
		Rows       []map[string]any `json:"rows"`
		Stuck      []map[string]any `json:"stuck"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return ioError(env, "report", fmt.Errorf("the server's answer does not read: %w", err))
	}
	fmt.Fprintf(env.stdout, "%s, %s to %s\n\n", rep.Kind, orDash(rep.From), rep.To)
	printTable(env, rep.Columns, rep.Rows)
	if len(rep.Stuck) > 0 {
		fmt.Fprintln(env.stdout, "\nstuck leads:")
		printTable(env, []string{"id", "workflow", "stage", "owner", "stuck"}, rep.Stuck)
	}
	fmt.Fprintf(env.stdout, "\n%s\n", rep.Definition)
	return exitOK
}

// printTable prints rows under their columns, aligned; a row without a
// value in a column shows "-".
func printTable(env *cmdEnv, cols []string, rows []map[string]any) {
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, row := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(row[c])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return orDash(x)
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprintf("%.2f", x)
	case map[string]any:
		var parts []string
		for k, v := range x {
			parts = append(parts, fmt.Sprintf("%s=%v", k, cell(v)))
		}
		slices.Sort(parts)
		return orDash(strings.Join(parts, " "))
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
