package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/leadlang/lead/runtime/client"
)

// The client commands talk to a running `lead run` over its HTTP API. They
// print the API's JSON answer (indented), so scripts can pipe it to jq.

func init() {
	register(&command{name: "capture", summary: "capture a lead on a running server", run: runCapture})
	register(&command{name: "send", summary: "send an event to a lead on a running server", run: runSend})
	register(&command{name: "show", summary: "show a lead on a running server", run: runShow})
	register(&command{name: "history", summary: "show a lead's history on a running server", run: runHistory})
	register(&command{name: "override", summary: "move a lead to a stage by hand, with a reason", run: runOverride})
	register(&command{name: "stuck", summary: "list stuck leads on a running server", run: runStuck})
}

const clientDoc = `
The server is --server, else $LEAD_SERVER, else http://127.0.0.1:7420; the
token is --token, else $LEAD_TOKEN. FIELD=VALUE arguments take JSON values
(numbers, true, false, "quoted", [lists]); anything else is a string.
The API's JSON answer is printed. Exit status: 0 success; 1 the server
rejected the request (the reason is printed); 2 usage error or the server
cannot be reached.`

// clientFlags adds --server and --token to a client command.
func clientFlags(env *cmdEnv, name, synopsis, doc string) (*cmdFlags, *string, *string) {
	fl := newFlags(env, name, synopsis, doc+"\n"+clientDoc)
	def := env.getenv("LEAD_SERVER")
	if def == "" {
		def = "http://127.0.0.1:7420"
	}
	server := fl.String("server", def, "the lead server's `URL`")
	token := fl.String("token", env.getenv("LEAD_TOKEN"), "bearer `TOKEN` (default $LEAD_TOKEN)")
	return fl, server, token
}

// answer prints a successful answer or the error, and returns the exit code.
func answer(env *cmdEnv, name string, raw json.RawMessage, err error) int {
	if err != nil {
		fmt.Fprintf(env.stderr, "lead %s: %v\n", name, err)
		if _, ok := err.(*client.APIError); ok {
			return exitFail
		}
		return exitUsage
	}
	var out bytes.Buffer
	if json.Indent(&out, raw, "", "  ") != nil {
		out.Reset()
		out.Write(raw)
	}
	fmt.Fprintln(env.stdout, strings.TrimRight(out.String(), "\n"))
	return exitOK
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

func runCapture(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "capture", "[--id ID] WORKFLOW [FIELD=VALUE]...",
		"Capture creates a lead in WORKFLOW. An existing --id returns that lead unchanged.")
	id := fl.String("id", "", "the lead's `ID` (default: generated)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return fl.usageError("no WORKFLOW given")
	}
	fields, err := client.ParseAssignments(pos[1:])
	if err != nil {
		return fl.usageError("%v", err)
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).Capture(c, pos[0], *id, fields)
	return answer(env, "capture", raw, err)
}

func runSend(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "send", "[--id EVENT_ID] LEAD EVENT [FIELD=VALUE]...",
		"Send delivers an event to a lead. With --id, a repeated send is applied once.")
	id := fl.String("id", "", "the event's idempotency `KEY`")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return fl.usageError("expected LEAD and EVENT")
	}
	data, err := client.ParseAssignments(pos[2:])
	if err != nil {
		return fl.usageError("%v", err)
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).Send(c, pos[0], pos[1], *id, data)
	return answer(env, "send", raw, err)
}

func runShow(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "show", "LEAD", "Show prints a lead.")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fl.usageError("expected one LEAD")
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).Lead(c, pos[0])
	return answer(env, "show", raw, err)
}

func runHistory(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "history", "LEAD", "History prints every step of a lead.")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fl.usageError("expected one LEAD")
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).History(c, pos[0])
	return answer(env, "history", raw, err)
}

func runOverride(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "override", "--reason REASON [--actor WHO] LEAD STAGE",
		"Override moves a lead to STAGE by an operator's decision, recorded as an exception in its history.")
	reason := fl.String("reason", "", "why the lead is moved (required)")
	actor := fl.String("actor", env.getenv("USER"), "who moves it")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return fl.usageError("expected LEAD and STAGE")
	}
	if strings.TrimSpace(*reason) == "" {
		return fl.usageError("--reason is required: say why the lead is moved")
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).Override(c, pos[0], pos[1], *reason, *actor)
	return answer(env, "override", raw, err)
}

func runStuck(env *cmdEnv, args []string) int {
	fl, server, token := clientFlags(env, "stuck", "[--workflow NAME]", "Stuck lists the leads that are stuck until an operator moves them.")
	workflow := fl.String("workflow", "", "only leads of workflow `NAME`")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fl.usageError("unexpected arguments %v", pos)
	}
	q := url.Values{"stuck": {"true"}}
	if *workflow != "" {
		q.Set("workflow", *workflow)
	}
	c, cancel := ctx()
	defer cancel()
	raw, err := client.New(*server, *token).AllLeads(c, q)
	return answer(env, "stuck", raw, err)
}
