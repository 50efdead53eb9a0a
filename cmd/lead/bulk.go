package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/leadlang/lead/runtime/service"
)

const bulkDoc = `
Bulk overrides (moves to STAGE) or assigns (gives to OWNER) every lead that
matches every FILTER given, at least one: --workflow, --stage, --owner,
--lifecycle, --stuck. Each lead changes in a step of its own, one after
the other in id order, recorded in its history like 'lead override' and
'lead assign': a lead that cannot take the change is reported and left as
it was.

--dry-run lists what would change and changes nothing. Otherwise the
action has an id (--id, or one the server makes up, printed first): if it
stops part way (the command was interrupted, the server refused writes),
run the same command with that --id to finish it; no lead is changed twice
by one id. An override needs --workflow: stages belong to a workflow.

It prints how many leads matched, changed, were unchanged (assigned to
their owner already, or changed by this id before) and failed, with each
failure. Exit status 1 if any lead failed.`

func runBulk(env *cmdEnv, args []string) int {
	c := newClientCmd(env, "bulk", "override|assign FILTER... --reason REASON [--actor WHO] [--id ID] [--dry-run] STAGE|OWNER", bulkDoc)
	f := addFilterFlags(c, true)
	reason := c.String("reason", "", "the `REASON` the leads change (required)")
	actor := c.String("actor", env.getenv("USER"), "`WHO` changes them (default $USER)")
	id := c.String("id", "", "the action's `ID`, to finish an action that stopped part way")
	dry := c.Bool("dry-run", false, "list what would change, and change nothing")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 || (pos[0] != service.BulkOverride && pos[0] != service.BulkAssign) {
		return c.usageError("expected override STAGE or assign OWNER")
	}
	action, target := pos[0], pos[1]
	filter := map[string]any{}
	for k, v := range f.query() {
		filter[k] = v[0]
	}
	if len(filter) == 0 {
		return c.usageError("give at least one filter (--workflow, --stage, --owner, --lifecycle, --stuck): a bulk action without one would reach every lead")
	}
	if *f.stuck {
		filter["stuck"] = true
	}
	if strings.TrimSpace(*reason) == "" {
		return c.usageError("--reason is required: say why the leads change")
	}
	body := map[string]any{"filter": filter, "reason": *reason, "actor": *actor, "id": *id}
	if action == service.BulkOverride {
		body["stage"] = target
	} else {
		body["owner"] = target
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl := c.client()
	total := service.BulkResult{DryRun: *dry, Leads: []service.BulkLead{}}
	cursor := ""
	for {
		raw, err := cl.Bulk(ctx, action, body, *dry, cursor)
		if err != nil {
			if total.ID != "" {
				fmt.Fprintf(env.stderr, "lead bulk: stopped after %d leads; run the same command with --id %s to finish (no lead is changed twice)\n", total.Matched, total.ID)
			}
			return c.fail(err)
		}
		var page service.BulkResult
		if err := json.Unmarshal(raw, &page); err != nil {
			return c.fail(fmt.Errorf("the server's answer is not what this lead understands: %w", err))
		}
		if total.ID == "" && page.ID != "" {
			total.ID = page.ID
			body["id"] = page.ID // the next pages belong to the same action
			if *c.format == "text" {
				fmt.Fprintf(env.stdout, "bulk %s %s\n", action, page.ID)
			}
		}
		total.Matched += page.Matched
		total.Changed += page.Changed
		total.Unchanged += page.Unchanged
		total.Failed += page.Failed
		total.Leads = append(total.Leads, page.Leads...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if *c.format == "json" {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(total)
	} else {
		writeBulk(env.stdout, action, total)
	}
	if total.Failed > 0 {
		return exitFail
	}
	return exitOK
}
