package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// cmdFlags is a subcommand's flag set with its usage: the synopsis of its
// arguments and a description, printed in full by --help and as two lines
// after a usage error.
type cmdFlags struct {
	*flag.FlagSet
	env      *cmdEnv
	name     string
	synopsis string
	doc      string
}

// newFlags makes the flag set of `lead NAME`. Flags may be written before
// or after the positional arguments, with one dash or two.
func newFlags(env *cmdEnv, name, synopsis, doc string) *cmdFlags {
	fs := flag.NewFlagSet("lead "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors itself, prefixed with the command
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, env: env, name: name, synopsis: synopsis, doc: doc}
}

// parse parses args and returns the positional arguments. ok is false when
// the command must stop with code: 0 after --help, 2 after a usage error.
func (c *cmdFlags) parse(args []string) (pos []string, code int, ok bool) {
	for {
		err := c.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.help()
			return nil, exitOK, false
		}
		if err != nil {
			return nil, c.usageError("%v", err), false
		}
		rest := c.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		// Parse stopped at a positional argument, or after "--" (then
		// everything left is positional).
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints `lead NAME: message` and the short usage to stderr and
// returns the usage exit code.
func (c *cmdFlags) usageError(format string, args ...any) int {
	fmt.Fprintf(c.env.stderr, "lead %s: %s\n", c.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(c.env.stderr, "usage: lead %s %s\nRun 'lead %s --help' for details.\n", c.name, c.synopsis, c.name)
	return exitUsage
}

// help prints the full usage on stdout, where it was asked for (so that
// `lead run --help | less` works): synopsis, description and flags.
func (c *cmdFlags) help() {
	w := c.env.stdout
	fmt.Fprintf(w, "usage: lead %s %s\n\n%s\n", c.name, c.synopsis, strings.TrimSpace(c.doc))
	var lines [][2]string
	c.VisitAll(func(f *flag.Flag) {
		name, use := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		left := dashes + f.Name
		if name != "" {
			left += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" {
			use += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, [2]string{left, use})
	})
	if len(lines) == 0 {
		return
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	fmt.Fprintln(w, "\nFlags:")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
}

// stringList is a repeatable flag; each value may also be a list separated
// by the OS's path-list separator, like $PATH.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, p := range splitPathList(v) {
		*l = append(*l, p)
	}
	return nil
}

// oneOf checks a --format value; the usage error lists the choices.
func (c *cmdFlags) oneOf(flagName, value string, choices []string) (code int, ok bool) {
	for _, ch := range choices {
		if value == ch {
			return 0, true
		}
	}
	return c.usageError("invalid --%s %q: want %s", flagName, value, strings.Join(choices, ", ")), false
}
