package main

import "fmt"

// unavailable lists the commands of Lead's command-line interface that this
// build does not have yet, with their summaries. Each gets a placeholder unless a real
// command of that name is registered; delete its line when it lands.
var unavailable = [][2]string{
	{"lsp", "language server on stdin/stdout"},
}

// registerUnavailable registers a placeholder for every unavailable command
// that no file registered. It runs after all init functions, so a real
// registration wins whatever the order of the files.
func registerUnavailable() {
	for _, u := range unavailable {
		name := u[0]
		if _, ok := commands[name]; ok {
			continue
		}
		summary := u[1]
		register(&command{name: name, summary: summary + " (not available yet)", run: func(env *cmdEnv, args []string) int {
			fl := newFlags(env, name, "", summary+", not available in this build yet.")
			if _, code, ok := fl.parse(args); !ok {
				return code // --help: exit 0
			}
			fmt.Fprintf(env.stderr, "lead %s: not available in this build yet\n", name)
			return exitUsage
		}})
	}
}
