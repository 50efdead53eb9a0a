package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/leadlang/lead/runtime/client"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/service"
)

// The client commands talk to a running `lead run` over its HTTP API.
// They print what they get for people (render.go), or with --format json
// the API's answer, indented, for scripts and jq.

func init() {
	register(&command{name: "capture", summary: "capture a lead on a running server", run: runCapture})
	register(&command{name: "send", summary: "send an event to a lead on a running server", run: runSend})
	register(&command{name: "show", summary: "show a lead on a running server", run: runShow})
	register(&command{name: "history", summary: "show a lead's history, one line per step", run: runHistory})
	register(&command{name: "list", summary: "list the leads that match a filter", run: runList})
	register(&command{name: "stuck", summary: "list stuck leads, with why they are stuck", run: runStuck})
	register(&command{name: "notifications", summary: "list notifications from the server's outbox", run: runNotifications})
	register(&command{name: "override", summary: "move a lead to a stage by hand, with a reason", run: runOverride})
	register(&command{name: "assign", summary: "give a lead to another owner by hand, with a reason", run: runAssign})
	register(&command{name: "bulk", summary: "override or assign every lead that matches a filter", run: runBulk})
}

const serverDoc = `
The server is --server, else $LEAD_SERVER, else http://127.0.0.1:7420; the
token is --token, else $LEAD_TOKEN. Exit status: 0 success; 1 the server
refused the request (its reasons are printed); 2 usage error, or no Lead
server answers at the address.`

const assignmentsDoc = `
FIELD=VALUE arguments take JSON values (numbers, true, false, "quoted",
[lists]); anything else is a string. So company=1234 sends a number: to
send the string, quote it for the shell too: company='"1234"'.`

// clientCmd is a client command's flags: --server, --token and --format.
type clientCmd struct {
	*cmdFlags
	server, token, format *string
	formats               []string // --format's values, the first the default
}

// newClientCmd makes a client command's flags; doc describes it and,
// for commands that take FIELD=VALUE, says so.
func newClientCmd(env *cmdEnv, name, synopsis, doc string) *clientCmd {
	return newClientCmdFormats(env, name, synopsis, doc, "text", "json")
}

// newClientCmdFormats is newClientCmd for a command whose --format takes
// other values than text and json.
func newClientCmdFormats(env *cmdEnv, name, synopsis, doc string, formats ...string) *clientCmd {
	fl := newFlags(env, name, synopsis, doc+"\n"+serverDoc)
	def := env.getenv("LEAD_SERVER")
	if def == "" {
		def = "http://127.0.0.1:7420"
	}
	return &clientCmd{
		cmdFlags: fl,
		server:   fl.String("server", def, "the lead server's `URL`"),
		token:    fl.String("token", env.getenv("LEAD_TOKEN"), "bearer `TOKEN` (default $LEAD_TOKEN)"),
		format:   fl.String("format", formats[0], "output `FORMAT`: "+strings.Join(formats, ", ")),
		formats:  formats,
	}
}

// parse parses args and checks --format.
func (c *clientCmd) parse(args []string) ([]string, int, bool) {
	pos, code, ok := c.cmdFlags.parse(args)
	if !ok {
		return nil, code, false
	}
	if code, ok := c.oneOf("format", *c.format, c.formats); !ok {
		return nil, code, false
	}
	return pos, 0, true
}

func (c *clientCmd) client() *client.Client { return client.New(*c.server, *c.token) }

// fail prints a request's error and returns the exit code: 1 if the
// server refused the request, 2 if no Lead server answered.
func (c *clientCmd) fail(err error) int {
	fmt.Fprintf(c.env.stderr, "lead %s: %v\n", c.name, err)
	var api *client.APIError
	if errors.As(err, &api) {
		return exitFail
	}
	return exitUsage
}

// answer prints an answer: indented JSON with --format json, else what
// text writes of it, decoded into T.
func answer[T any](c *clientCmd, raw json.RawMessage, err error, text func(T)) int {
	if err != nil {
		return c.fail(err)
	}
	if *c.format == "json" {
		var out strings.Builder
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		var v any
		if json.Unmarshal(raw, &v) != nil || enc.Encode(v) != nil {
			fmt.Fprintln(c.env.stdout, string(raw))
			return exitOK
		}
		fmt.Fprint(c.env.stdout, out.String())
		return exitOK
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return c.fail(fmt.Errorf("the server's answer is not what this lead understands: %w", err))
	}
	text(v)
	return exitOK
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// showLead is the text of commands that answer a lead.
func (c *clientCmd) showLead(v service.LeadView) { writeLead(c.env.stdout, v, c.env.now()) }

func runCapture(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "capture", "[--id ID] WORKFLOW [FIELD=VALUE]...",
		"Capture creates a lead in WORKFLOW with the given fields and prints it.\nAn existing --id returns that lead unchanged.\n"+assignmentsDoc)
	id := c.String("id", "", "the lead's `ID` (default: generated)")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return c.usageError("no WORKFLOW given")
	}
	fields, err := client.ParseAssignments(pos[1:])
	if err != nil {
		return c.usageError("%v", err)
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().Capture(cx, pos[0], *id, fields)
	return answer(c, raw, quoteHint(err, "fields", pos[1:]), c.showLead)
}

func runSend(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "send", "[--id EVENT_ID] LEAD EVENT [FIELD=VALUE]...",
		"Send delivers an event with its payload to a lead and prints the lead after it.\nWith --id, a repeated send is applied once.\n"+assignmentsDoc)
	id := c.String("id", "", "the event's idempotency `KEY`")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return c.usageError("expected LEAD and EVENT")
	}
	data, err := client.ParseAssignments(pos[2:])
	if err != nil {
		return c.usageError("%v", err)
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().Send(cx, pos[0], pos[1], *id, data)
	return answer(c, raw, quoteHint(err, "data", pos[2:]), c.showLead)
}

// quoteHint adds, to a refusal that a field wants a string, how to send
// one when the argument was unquoted and so sent as JSON (company=1234).
func quoteHint(err error, prefix string, assignments []string) error {
	var api *client.APIError
	if !errors.As(err, &api) {
		return err
	}
	for i, d := range api.Details {
		name, ok := strings.CutPrefix(d.Field, prefix+".")
		if !ok || !strings.Contains(d.Message, "string") {
			continue
		}
		for _, a := range assignments {
			k, v, _ := strings.Cut(a, "=")
			var x any
			if k == name && json.Unmarshal([]byte(v), &x) == nil {
				if _, isString := x.(string); !isString {
					api.Details[i].Message += fmt.Sprintf(" (%s=%s sends JSON; to send the text, quote it: %s='\"%s\"')", k, v, k, v)
				}
			}
		}
	}
	return err
}

func runShow(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "show", "LEAD", "Show prints a lead: its stage, owner, fields and SLAs.")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("expected one LEAD")
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().Lead(cx, pos[0])
	return answer(c, raw, err, c.showLead)
}

func runHistory(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "history", "LEAD", "History prints every step of a lead, one line each: when, what caused\nit, where the lead went, its owner, and what the step did.")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("expected one LEAD")
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().History(cx, pos[0])
	return answer(c, raw, err, func(h struct {
		Steps []engine.Entry `json:"steps"`
	}) {
		writeHistory(c.env.stdout, h.Steps)
	})
}

// filterFlags are the flags that select leads (list, stuck, bulk).
type filterFlags struct {
	workflow, stage, owner, lifecycle, sla, minAge *string
	stuck                                          *bool
}

func addFilterFlags(c *clientCmd, stuck bool) filterFlags {
	f := filterFlags{
		workflow:  c.String("workflow", "", "only leads of workflow `NAME`"),
		stage:     c.String("stage", "", "only leads in `STAGE`"),
		owner:     c.String("owner", "", "only leads owned by `OWNER`"),
		lifecycle: c.String("lifecycle", "", "only leads in a stage of `LIFECYCLE`"),
		sla:       c.String("sla", "", "only leads with an SLA in `STATE`: running, warned, breached or met"),
		minAge:    c.String("min-age", "", "only leads in their stage at least `DURATION` (4h, 2d)"),
	}
	if stuck {
		f.stuck = c.Bool("stuck", false, "only stuck leads")
	}
	return f
}

func (f filterFlags) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]*string{"workflow": f.workflow, "stage": f.stage, "owner": f.owner, "lifecycle": f.lifecycle, "sla": f.sla, "min_age": f.minAge} {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	if f.stuck != nil && *f.stuck {
		q.Set("stuck", "true")
	}
	return q
}

type leadPage struct {
	Leads []service.LeadView `json:"leads"`
	Total *int               `json:"total"`
}

func runList(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "list", "[--workflow NAME] [--stage STAGE] [--owner OWNER] [--lifecycle LIFECYCLE] [--stuck] [--sla STATE] [--min-age DURATION] [--sort id|deadline|age]",
		"List prints the leads that match every filter given, one line each,\nwith the nearest deadline of an open SLA: in id order, nearest deadline\nfirst (--sort deadline: only leads with an open SLA), or longest in\ntheir stage first (--sort age).")
	f := addFilterFlags(c, true)
	sort := c.String("sort", "id", "the order: `id`, deadline or age")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return c.usageError("unexpected argument %q: filters are flags", pos[0])
	}
	cx, cancel := ctx()
	defer cancel()
	q := f.query()
	if *sort != "id" {
		q.Set("sort", *sort)
	}
	raw, err := c.client().AllLeads(cx, q)
	return answer(c, raw, err, func(p leadPage) { writeLeads(c.env, p.Leads, false) })
}

func runStuck(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "stuck", "[--workflow NAME] [--stage STAGE] [--owner OWNER] [--lifecycle LIFECYCLE]",
		"Stuck lists the leads that are stuck until an operator moves them, with\nthe exception that stuck them. Move one with 'lead override', or many\nwith 'lead bulk override --stuck'.")
	f := addFilterFlags(c, false)
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return c.usageError("unexpected argument %q: filters are flags", pos[0])
	}
	q := f.query()
	q.Set("stuck", "true")
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().AllLeads(cx, q)
	return answer(c, raw, err, func(p leadPage) { writeLeads(c.env, p.Leads, true) })
}

func runNotifications(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "notifications", "[--since CURSOR] [--limit N]",
		"Notifications prints the server's outbox in order: every notify,\nescalate and nurture message, one line each. It starts at the beginning,\nor after --since CURSOR, and says on stderr how to read on.")
	since := c.String("since", "", "start after `CURSOR` (the one a previous run printed)")
	limit := c.Int("limit", 100, "print at most `N` notifications (1 to 1000)")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return c.usageError("unexpected argument %q", pos[0])
	}
	if *limit < 1 || *limit > 1000 {
		return c.usageError("--limit must be from 1 to 1000")
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().Notifications(cx, *since, *limit)
	return answer(c, raw, err, func(p notificationPage) {
		writeNotifications(c.env, p)
	})
}

func runOverride(env *cmdEnv, args []string) int {
	return runOperator(env, args, "override", "STAGE", "the lead is moved",
		"Override moves a lead to STAGE by an operator's decision, recorded as an\nexception in its history, and prints the lead. It clears a stuck mark.",
		(*client.Client).Override)
}

func runAssign(env *cmdEnv, args []string) int {
	return runOperator(env, args, "assign", "OWNER", "the lead changes hands",
		"Assign gives a lead to OWNER (a person or a queue) by an operator's\ndecision, recorded in its history with the previous owner, and prints the\nlead. The stage's SLAs that are not met start again for the new owner.",
		(*client.Client).Assign)
}

// runOperator runs an operator's action on one lead: `lead NAME --reason
// REASON [--actor WHO] LEAD TARGET`.
func runOperator(env *cmdEnv, args []string, name, target, why, doc string,
	call func(c *client.Client, ctx context.Context, lead, target, reason, actor string) (json.RawMessage, error)) int {
	c := newClientCmd(env, name, "--reason REASON [--actor WHO] LEAD "+target, doc)
	reason := c.String("reason", "", "the `REASON` "+why+" (required)")
	actor := c.String("actor", env.getenv("USER"), "`WHO` acts (default $USER)")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return c.usageError("expected LEAD and %s", target)
	}
	if strings.TrimSpace(*reason) == "" {
		return c.usageError("--reason is required: say why %s", why)
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := call(c.client(), cx, pos[0], pos[1], *reason, *actor)
	return answer(c, raw, err, c.showLead)
}
