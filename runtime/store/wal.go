package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// walSync makes Badger's writes durable without Badger's help.
//
// With SyncWrites off, Badger writes a transaction into the memory-mapped
// write-ahead log of its current memtable (<fid>.mem, fid growing by one
// per memtable) and returns. DB.Sync would msync that log, but it holds
// Badger's DB lock while it waits for the disk, which stalls the next
// transaction's memtable insert behind the fsync, and it also syncs the
// value log, a second device flush per group that buys nothing while
// every value stays in the LSM tree. It also misses a log that was
// current at the last sync but was rotated out since: its unsynced tail
// would only become durable when Badger flushes that memtable to a table.
//
// So the syncer fdatasyncs the log files itself through its own file
// descriptor (the kernel writes back pages dirtied through any mapping of
// the file): every log from the oldest that may hold unsynced writes to
// the newest, which is current. A log that is gone was flushed into a
// synced table before Badger deleted it. On a rotation it also fsyncs the
// directory, which Badger does not do for a new log. This depends on
// Badger's log naming (memtable.go, mtFilePath); TestWALRotation fails if
// an upgrade changes it, and Open refuses a directory without a log.
//
// Only the syncer goroutine uses a walSync.
type walSync struct {
	dir string
	fid int      // the oldest log that may hold unsynced writes
	f   *os.File // fid's log
}

const walExt = ".mem"

func walPath(dir string, fid int) string {
	return filepath.Join(dir, fmt.Sprintf("%05d%s", fid, walExt))
}

func openWALSync(dir string) (*walSync, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fid := -1
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), walExt); ok {
			if id, err := strconv.Atoi(n); err == nil {
				fid = max(fid, id)
			}
		}
	}
	if fid < 0 {
		return nil, fmt.Errorf("found no Badger write-ahead log (*%s) to sync; has the Badger version changed? Open with Options.SyncWrites", walExt)
	}
	f, err := os.Open(walPath(dir, fid))
	if err != nil {
		return nil, err
	}
	return &walSync{dir: dir, fid: fid, f: f}, nil
}

// sync makes everything Badger has written so far durable.
func (w *walSync) sync() (rotated bool, err error) {
	f, rotated, err := w.current()
	if err != nil {
		return rotated, err
	}
	return rotated, fdatasync(f)
}

// current returns the current log, after syncing the logs rotated out
// since the last call and the directory that names the new one.
func (w *walSync) current() (*os.File, bool, error) {
	latest := w.fid
	for {
		if _, err := os.Stat(walPath(w.dir, latest+1)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, false, err
			}
			break
		}
		latest++
	}
	if latest == w.fid {
		return w.f, false, nil
	}
	// Rotated: the old logs, then the directory that names the new one.
	if err := fdatasync(w.f); err != nil {
		return nil, true, err
	}
	for fid := w.fid + 1; fid < latest; fid++ {
		if err := syncPath(walPath(w.dir, fid)); err != nil {
			return nil, true, err
		}
	}
	f, err := os.Open(walPath(w.dir, latest))
	if err != nil {
		return nil, true, err
	}
	w.f.Close()
	w.f, w.fid = f, latest
	if err := syncPath(w.dir); err != nil {
		return nil, true, err
	}
	return w.f, true, nil
}

// syncPath fsyncs a file or directory; one that is gone needs nothing.
func syncPath(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (w *walSync) close() error { return w.f.Close() }
