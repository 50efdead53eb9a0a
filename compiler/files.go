package compiler

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FindFiles expands PATH arguments into .lead files, the same way for
// every command that reads workflows (lead check, fmt, test and run): a
// file is taken as given, whatever its name; a directory is searched for
// *.lead files, skipping hidden directories (.git, .lead-data) and
// testdata directories, which hold deliberately broken inputs as in Go.
// Symbolic links are followed, to files and to directories (a shared
// directory of standards linked into a project is common), each directory
// once however it is reached, so a link back up the tree is no loop. Each
// file appears once, a directory's in the order of a depth-first walk in
// lexical order. Paths that cannot be read are returned as errors; the
// others are still expanded.
func FindFiles(paths []string) ([]string, []error) {
	w := newFinder()
	w.find(paths)
	return w.files, w.errs
}

// SourceDirs lists the directories FindFiles searches for paths, and the
// directory of each file path: what `lead run` watches for changes.
func SourceDirs(paths []string) ([]string, []error) {
	w := newFinder()
	w.find(paths)
	return w.dirs, w.errs
}

// SkipDir reports whether FindFiles skips a directory of this name.
func SkipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "testdata"
}

type finder struct {
	files, dirs []string
	errs        []error
	seen        map[string]bool // files and directories listed
	real        map[string]bool // real paths of the directories walked
}

func newFinder() *finder {
	return &finder{seen: map[string]bool{}, real: map[string]bool{}}
}

func (f *finder) find(paths []string) {
	for _, root := range paths {
		root = filepath.Clean(root)
		info, err := os.Stat(root)
		switch {
		case err != nil:
			f.errs = append(f.errs, err)
		case info.IsDir():
			f.walk(root)
		default:
			f.addFile(root)
			f.addDir(filepath.Dir(root))
		}
	}
}

func (f *finder) addFile(p string) {
	if !f.seen[p] {
		f.seen[p] = true
		f.files = append(f.files, p)
	}
}

func (f *finder) addDir(p string) {
	if !f.seen[p+string(filepath.Separator)] {
		f.seen[p+string(filepath.Separator)] = true
		f.dirs = append(f.dirs, p)
	}
}

func (f *finder) walk(dir string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		f.errs = append(f.errs, err)
		return
	}
	if f.real[real] {
		return
	}
	f.real[real] = true
	f.addDir(dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.errs = append(f.errs, err)
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		var info fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			if info, err = os.Stat(p); err != nil {
				f.errs = append(f.errs, fmt.Errorf("%s: a link to nothing: %w", p, err))
				continue
			}
		} else if info, err = e.Info(); err != nil {
			f.errs = append(f.errs, err)
			continue
		}
		switch {
		case info.IsDir():
			if !SkipDir(e.Name()) {
				f.walk(p)
			}
		case strings.HasSuffix(e.Name(), ".lead") && info.Mode().IsRegular():
			f.addFile(p)
		}
	}
}
