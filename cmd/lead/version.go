package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	register(&command{name: "version", summary: "print the version and build information", run: runVersion})
}

const versionDoc = `
Version prints lead's version and build information: the module version
("(devel)" for a build from a source checkout), the version-control revision
and commit time when the build recorded them, and the Go toolchain.`

func runVersion(env *cmdEnv, args []string) int {
	fl := newFlags(env, "version", "", versionDoc)
	rest, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return fl.usageError("unexpected argument %q", rest[0])
	}
	w := env.stdout
	fmt.Fprintf(w, "lead %s\n", leadVersion())
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			fmt.Fprintf(w, "module    %s\n", bi.Main.Path)
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			if settings["vcs.modified"] == "true" {
				rev += " (modified)"
			}
			fmt.Fprintf(w, "revision  %s\n", rev)
		}
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(w, "committed %s\n", t)
		}
	}
	fmt.Fprintf(w, "go        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// leadVersion is the main module's version, "(devel)" for a build from a
// source checkout.
func leadVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
