package main

import (
	"encoding/json"
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
and commit time when the build recorded them, and the Go toolchain. With
--format json they are one object: {"version", "module", "revision",
"modified", "committed", "go", "os", "arch"}.`

// versionInfo is what lead version prints.
type versionInfo struct {
	Version   string `json:"version"`
	Module    string `json:"module,omitempty"`
	Revision  string `json:"revision,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	Committed string `json:"committed,omitempty"`
	Go        string `json:"go"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

func runVersion(env *cmdEnv, args []string) int {
	fl := newFlags(env, "version", "[--format text|json]", versionDoc)
	format := fl.String("format", "text", "output `FORMAT`: text or json")
	rest, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return fl.usageError("unexpected argument %q", rest[0])
	}
	if code, ok := fl.oneOf("format", *format, []string{"text", "json"}); !ok {
		return code
	}
	v := versionInfo{Version: leadVersion(), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Module = bi.Main.Path
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			case "vcs.time":
				v.Committed = s.Value
			}
		}
	}
	w := env.stdout
	if *format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(v)
		return exitOK
	}
	fmt.Fprintf(w, "lead %s\n", v.Version)
	if v.Module != "" {
		fmt.Fprintf(w, "module    %s\n", v.Module)
	}
	if v.Revision != "" {
		rev := v.Revision
		if v.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(w, "revision  %s\n", rev)
	}
	if v.Committed != "" {
		fmt.Fprintf(w, "committed %s\n", v.Committed)
	}
	fmt.Fprintf(w, "go        %s %s/%s\n", v.Go, v.OS, v.Arch)
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
