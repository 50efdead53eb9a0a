package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/leadlang/lead/compiler"
)

// startWatcher reloads workflows when .lead files change. It watches the
// directories, not the files, so editors that save by writing a temporary
// file and renaming it over the original (vim, VS Code, JetBrains) are seen
// like editors that truncate and write in place. Changes are debounced per
// directory: a burst of events causes one reload, once the file is whole.
func (s *Service) startWatcher(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch workflows: %w", err)
	}
	dirs, err := watchDirs(s.cfg.Paths)
	if err != nil {
		w.Close()
		return err
	}
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			w.Close()
			return fmt.Errorf("watch %s: %w", d, err)
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Close()
		dirty := map[string]bool{}
		var fire <-chan time.Time
		var timer *time.Timer
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				changed := strings.HasSuffix(ev.Name, ".lead")
				if changed {
					dirty[filepath.Dir(ev.Name)] = true
				}
				if ev.Has(fsnotify.Create) && !changed && s.serves(ev.Name) {
					// A new directory under a served one: watch it too
					// (fsnotify does not recurse), and look inside.
					if info, err := os.Stat(ev.Name); err == nil && info.IsDir() && !compiler.SkipDir(filepath.Base(ev.Name)) {
						if dirs, err := watchDirs([]string{ev.Name}); err == nil {
							for _, d := range dirs {
								if err := w.Add(d); err != nil {
									s.log.Error("watch", "dir", d, "err", err)
								}
								dirty[d] = true
								changed = true
							}
						}
					}
				}
				if !changed {
					continue
				}
				if timer != nil {
					timer.Stop()
				}
				timer = time.NewTimer(s.cfg.Debounce)
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Error("file watcher", "err", err)
			case <-fire:
				fire = nil
				for dir := range dirty {
					s.reloadDir(ctx, dir)
				}
				dirty = map[string]bool{}
			}
		}
	}()
	return nil
}

// reloadDir recompiles every workflow in a directory that the service
// serves: a change to a standard or test file there can affect any of them.
func (s *Service) reloadDir(ctx context.Context, dir string) {
	files, err := discover([]string{dir})
	if err != nil {
		s.log.Error("reload", "dir", dir, "err", err)
		return
	}
	// A served file whose save broke its header no longer looks like a
	// workflow, but its diagnostics must still show; a file that is gone
	// keeps its last good version serving.
	for _, f := range s.reg.files(dir) {
		if _, err := os.Stat(f); err == nil && !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		if s.serves(f) {
			s.reload(ctx, f)
		}
	}
}

// serves reports whether a workflow file is under the served paths.
func (s *Service) serves(file string) bool {
	abs, err := filepath.Abs(file)
	if err != nil {
		return false
	}
	for _, p := range s.cfg.Paths {
		root, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if abs == root || strings.HasPrefix(abs, root+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// watchDirs lists the directories to watch: those FindFiles searches,
// symbolic links followed the same way.
func watchDirs(paths []string) ([]string, error) {
	dirs, errs := compiler.SourceDirs(paths)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return dirs, nil
}
