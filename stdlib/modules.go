package stdlib

import (
	"embed"
	"path"
	"slices"
	"strings"
)

//go:embed modules/*.lead
var modules embed.FS

// Module returns the source of the standard module called name, such as
// "std.waterfall" (the language reference §14). The caller may modify the slice.
func Module(name string) (src []byte, ok bool) {
	base, found := strings.CutPrefix(name, "std.")
	if !found || base == "" || strings.ContainsAny(base, `./\`) {
		return nil, false
	}
	src, err := modules.ReadFile("modules/" + base + ".lead")
	if err != nil {
		return nil, false
	}
	return src, true
}

// Modules lists the standard modules' names, sorted.
func Modules() []string {
	entries, _ := modules.ReadDir("modules") // cannot fail: the embed pattern requires the directory
	var names []string
	for _, e := range entries {
		names = append(names, "std."+strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
	}
	slices.Sort(names)
	return names
}
