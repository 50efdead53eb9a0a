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

// memLogs follows Badger's memtable logs, to tell when the redo log may
// release a record (redo.go).
//
// Badger writes each transaction into the memory-mapped log of its
// current memtable, <fid>.mem, fid growing by one per memtable; when the
// memtable is flushed to a table (synced, with the manifest that names
// it), the log is deleted. So a transaction committed while the newest
// log was fid F is durable in Badger once no log up to F exists. A
// checkpoint (syncAll) makes everything committed so far durable without
// waiting for flushes. This depends on Badger's log naming (memtable.go,
// mtFilePath); TestMemLogRelease fails if an upgrade changes it, and Open
// refuses a directory without a log.
//
// Only the committer uses a memLogs.
type memLogs struct {
	dir    string
	newest int    // the newest log seen
	marks  []mark // transactions committed per newest log, oldest first
}

// mark says that transactions up to seq were committed while fid was the
// newest log.
type mark struct {
	fid int
	seq uint64
}

const memExt = ".mem"

func memPath(dir string, fid int) string {
	return filepath.Join(dir, fmt.Sprintf("%05d%s", fid, memExt))
}

// memFids returns the fids of the logs in dir, in no particular order.
func memFids(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var fids []int
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), memExt); ok {
			if id, err := strconv.Atoi(n); err == nil {
				fids = append(fids, id)
			}
		}
	}
	return fids, nil
}

func openMemLogs(dir string) (*memLogs, error) {
	fids, err := memFids(dir)
	if err != nil {
		return nil, err
	}
	if len(fids) == 0 {
		return nil, fmt.Errorf("found no Badger memtable log (*%s) in %s; has the Badger version changed?", memExt, dir)
	}
	m := &memLogs{dir: dir, newest: -1}
	for _, fid := range fids {
		m.newest = max(m.newest, fid)
	}
	return m, nil
}

// committed notes that transactions up to seq are in Badger's memtables.
func (m *memLogs) committed(seq uint64) error {
	for {
		if _, err := os.Stat(memPath(m.dir, m.newest+1)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			break
		}
		m.newest++
	}
	if n := len(m.marks); n > 0 && m.marks[n-1].fid == m.newest {
		m.marks[n-1].seq = seq
	} else {
		m.marks = append(m.marks, mark{m.newest, seq})
	}
	return nil
}

// durable returns the last transaction Badger holds durably, as far as
// flushed memtables tell (0 if none is known).
func (m *memLogs) durable() (uint64, error) {
	fids, err := memFids(m.dir)
	if err != nil {
		return 0, err
	}
	oldest := m.newest + 1
	for _, fid := range fids {
		oldest = min(oldest, fid)
	}
	var seq uint64
	i := 0
	for ; i < len(m.marks) && m.marks[i].fid < oldest; i++ {
		seq = m.marks[i].seq
	}
	m.marks = m.marks[i:]
	return seq, nil
}

// syncAll makes every transaction committed so far durable in Badger (a
// checkpoint) and returns the last one: it fdatasyncs every memtable log,
// oldest first (a log that is gone was flushed into a synced table), and
// the directory.
func (m *memLogs) syncAll() (uint64, error) {
	fids, err := memFids(m.dir)
	if err != nil {
		return 0, err
	}
	for _, fid := range fids {
		if err := syncPath(memPath(m.dir, fid)); err != nil {
			return 0, err
		}
	}
	if err := syncPath(m.dir); err != nil {
		return 0, err
	}
	var seq uint64
	if n := len(m.marks); n > 0 {
		seq = m.marks[n-1].seq
	}
	m.marks = m.marks[:0]
	return seq, nil
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
