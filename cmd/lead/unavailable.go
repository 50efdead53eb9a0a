package main

import "fmt"

// unavailable lists the commands of INTERFACES.md that this build does not
// have yet, with their summaries. Each gets a placeholder unless a real
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
		register(&command{name: name, summary: u[1] + " (not available yet)", run: func(env *cmdEnv, _ []string) int {
			fmt.Fprintf(env.stderr, "lead %s: not available in this build yet\n", name)
			return exitUsage
		}})
	}
}
