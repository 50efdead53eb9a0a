// Command lead is the Lead language's one binary: it checks, formats,
// draws and tests .lead workflows, serves them durably (`lead run`), and
// speaks LSP to editors. Each subcommand lives in its own file and holds
// only flags and wiring; the logic is in the packages it calls.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// Exit codes: 0 success; 1 the input has errors or a test failed; 2 usage
// or I/O error.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run executes the command with its arguments (after the name) and
	// returns the exit code.
	run func(env *cmdEnv, args []string) int
}

// cmdEnv is what commands read and write, so tests can run them in-process.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// now is the clock relative times are written against ("3h ago").
	now func() time.Time
}

var commands = map[string]*command{}

// register adds a subcommand; each command's file calls it from init.
func register(c *command) { commands[c.name] = c }

func main() { os.Exit(leadMain()) }

// leadMain runs lead on the process's arguments and standard streams and
// returns the exit code; the CLI tests run it as the `lead` command.
func leadMain() int {
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
	return run(env, os.Args[1:])
}

func run(env *cmdEnv, args []string) int {
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "--help"} // `lead help check` is `lead check --help`
	}
	if len(args) == 0 {
		usage(env.stderr) // a mistake: the list goes where errors go
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout) // asked for: `lead help | less` works
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "lead: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return exitUsage
	}
	return c.run(env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Lead: lead-management workflows as code.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: lead COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `lead COMMAND --help` (or `lead help COMMAND`) for a command's flags.")
}
