package store

// Opening only what is whole.
//
// Badger trusts its files. Opened on a directory whose MANIFEST is gone,
// it starts an empty store and deletes every table; given a table whose
// checksum fails, it leaves the table out and carries on without its data;
// given a block damaged in the wrong place, it panics, in a goroutine of
// its own where nothing can recover. So before Badger opens a directory,
// verifyFiles checks what Badger would take on trust and refuses, naming
// the file and saying what to do, rather than guess:
//
//   - table files (*.sst) or logs (*.mem, *.vlog) without a MANIFEST;
//   - a MANIFEST that does not replay (a bad checksum, a bad header; a
//     record cut short at its end is a write a crash interrupted, which
//     Badger drops, and so do we);
//   - a table the MANIFEST lists whose file is missing;
//   - a table whose index or any block fails its checksum or cannot be
//     decoded.
//
// Each table is read whole once, in parallel, as Badger's own
// verification on open would read it, but here a panic is caught. Badger
// then opens the tables without reading them again and verifies each
// block it reads later (Options.badger).
//
// Not checked: Badger's memtable logs (*.mem). Their replay ends at the
// first record that does not check out, which is what a write torn by a
// power failure at the end of a log looks like, and damage inside a log
// cannot be told from that (PostgreSQL's WAL works the same way). Against
// damaged media, keep backups (backup.go).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// ErrDamaged is returned by Open for a directory it will not open because
// a file is damaged or missing.
var ErrDamaged = errors.New("the store is damaged")

// restoreAdvice ends every ErrDamaged message.
const restoreAdvice = "nothing was changed; keep the directory as it is for inspection, and restore the latest backup into a new directory (lead restore FILE --data NEWDIR; docs/runtime.md, \"Recovering a damaged store\")"

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s; %s", ErrDamaged, fmt.Sprintf(format, args...), restoreAdvice)
}

// verifyFiles checks the files of the Badger directory dir, which bo
// opens, before Badger does.
func verifyFiles(dir string, bo badger.Options) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var tables, logs []string
	manifest := false
	for _, e := range ents {
		switch name := e.Name(); {
		case name == badger.ManifestFilename:
			manifest = true
		case strings.HasSuffix(name, ".sst"):
			tables = append(tables, name)
		case strings.HasSuffix(name, ".mem"), strings.HasSuffix(name, ".vlog"):
			logs = append(logs, name)
		}
	}
	path := filepath.Join(dir, badger.ManifestFilename)
	if !manifest {
		switch {
		case len(tables) > 0:
			return damaged("%s is missing, but the directory holds %d table files (%s); opening it would start an empty store and delete them", path, len(tables), list(tables))
		case len(logs) > 0:
			return damaged("%s is missing, but the directory holds Badger's logs (%s)", path, list(logs))
		}
		return nil // a new store
	}
	m, err := readManifest(path, bo)
	if err != nil {
		return damaged("%s does not read: %v", path, err)
	}
	type job struct {
		path string
		tm   badger.TableManifest
	}
	var jobs []job
	for id, tm := range m.Tables {
		p := table.NewFilename(id, dir)
		if _, err := os.Stat(p); err != nil {
			return damaged("%s lists the table %s, which is missing (%v)", path, filepath.Base(p), err)
		}
		jobs = append(jobs, job{p, tm})
	}
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = verifyTable(jobs[i].path, jobs[i].tm, bo)
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return damaged("%v", err)
	}
	return nil
}

// readManifest replays the MANIFEST at path without changing it (Badger
// truncates a record cut short at its end when it opens the file
// writable; read-only, it leaves it).
func readManifest(path string, bo badger.Options) (m badger.Manifest, err error) {
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	m, _, err = badger.ReplayManifestFile(f, bo.ExternalMagicVersion, bo)
	return m, err
}

// verifyTable reads the table file at path whole, checking its index and
// every block. On an error the file's mapping may stay open: the store
// is not opened, and the process that asked is about to say so.
func verifyTable(path string, tm badger.TableManifest, bo badger.Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("table %s cannot be read: %v", path, r)
		}
	}()
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("table %s: %v", path, err)
	}
	t, err := table.OpenTable(mf, table.Options{
		ReadOnly:           true,
		ChkMode:            options.OnTableRead,
		BlockSize:          bo.BlockSize,
		BloomFalsePositive: bo.BloomFalsePositive,
		Compression:        tm.Compression,
	})
	if err != nil {
		return fmt.Errorf("table %s: %v", path, err)
	}
	return t.Close(-1)
}

// list names up to three files.
func list(names []string) string {
	if len(names) > 3 {
		return fmt.Sprintf("%s, … and %d more", strings.Join(names[:3], ", "), len(names)-3)
	}
	return strings.Join(names, ", ")
}
