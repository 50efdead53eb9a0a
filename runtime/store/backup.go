package store

// Backups.
//
// Backup writes a consistent copy of the whole store while it serves:
// Badger's own backup stream (every key, read at one snapshot, so every
// step committed before the backup began is in it, whole, and none that
// began after is half in it), framed so that a copy cut short or damaged
// is refused on restore rather than restored in part:
//
//	"lead-backup/1\n"
//	a JSON line: {"store": "lead-store/1", "created": RFC 3339}
//	frames: 4-byte big-endian length n > 0, then n bytes of the stream
//	the end: a zero length, then the SHA-256 of everything before it
//
// Restore loads such a file into a new directory, through a temporary
// sibling directory that is renamed into place only once the whole file
// has checked out and the restored store opens.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"
)

const (
	backupMagic = "lead-backup/1\n"
	frameSize   = 1 << 20
)

// ErrBadBackup is returned by Restore for a file that is not a whole
// backup.
var ErrBadBackup = errors.New("not a whole backup")

type backupHeader struct {
	Store   string    `json:"store"`
	Created time.Time `json:"created"`
}

// Backup writes a consistent backup of the store to w while it serves.
// It stops with ctx's error if ctx is done first.
func (s *Badger) Backup(ctx context.Context, w io.Writer) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	fw := &frameWriter{ctx: ctx, w: w, h: sha256.New()}
	head, _ := json.Marshal(backupHeader{Store: formatVersion, Created: time.Now().UTC()})
	if err := fw.raw(append([]byte(backupMagic), append(head, '\n')...)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := s.db.NewStream().Backup(fw, 0); err != nil {
		return fmt.Errorf("backup of %s: %w", s.dir, err)
	}
	if err := fw.end(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// frameWriter frames what Badger's stream writes and hashes it.
type frameWriter struct {
	ctx context.Context
	w   io.Writer
	h   hash.Hash
	buf []byte
}

func (f *frameWriter) raw(b []byte) error {
	if err := f.ctx.Err(); err != nil {
		return err
	}
	f.h.Write(b)
	_, err := f.w.Write(b)
	return err
}

func (f *frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), frameSize-len(f.buf))
		f.buf = append(f.buf, p[:k]...)
		p = p[k:]
		if len(f.buf) == frameSize {
			if err := f.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (f *frameWriter) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	if err := f.raw(binary.BigEndian.AppendUint32(nil, uint32(len(f.buf)))); err != nil {
		return err
	}
	err := f.raw(f.buf)
	f.buf = f.buf[:0]
	return err
}

func (f *frameWriter) end() error {
	if err := f.flush(); err != nil {
		return err
	}
	if err := f.raw([]byte{0, 0, 0, 0}); err != nil {
		return err
	}
	_, err := f.w.Write(f.h.Sum(nil))
	return err
}

// frameReader reads the frames of a backup back into Badger's stream. It
// says io.EOF only once the end frame's hash matches everything read.
type frameReader struct {
	r    *bufio.Reader
	h    hash.Hash
	left uint32 // bytes of the current frame not yet read
	done bool
	// check, if set, is asked between frames whether to go on.
	check func() error
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.done {
		return 0, io.EOF
	}
	if f.left == 0 {
		if f.check != nil {
			if err := f.check(); err != nil {
				return 0, err
			}
		}
		var n [4]byte
		if _, err := io.ReadFull(f.r, n[:]); err != nil {
			return 0, cutShort(err)
		}
		f.h.Write(n[:])
		f.left = binary.BigEndian.Uint32(n[:])
		if f.left == 0 {
			var sum [sha256.Size]byte
			if _, err := io.ReadFull(f.r, sum[:]); err != nil {
				return 0, cutShort(err)
			}
			if string(sum[:]) != string(f.h.Sum(nil)) {
				return 0, fmt.Errorf("%w: its checksum does not match its contents (the file is damaged)", ErrBadBackup)
			}
			if _, err := f.r.ReadByte(); err != io.EOF {
				return 0, fmt.Errorf("%w: there is data after its end", ErrBadBackup)
			}
			f.done = true
			return 0, io.EOF
		}
		if f.left > frameSize {
			return 0, fmt.Errorf("%w: a frame of %d bytes (the file is damaged)", ErrBadBackup, f.left)
		}
	}
	n, err := f.r.Read(p[:min(len(p), int(f.left))])
	f.h.Write(p[:n])
	f.left -= uint32(n)
	if err == io.EOF {
		err = cutShort(io.ErrUnexpectedEOF)
	}
	return n, err
}

func cutShort(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it ends before its end marker (it was cut short)", ErrBadBackup)
	}
	return err
}

// VerifyBackup reads a whole backup from r and checks its header, its
// framing and its checksum, without loading it; it returns when the
// backup was taken.
func VerifyBackup(r io.Reader) (time.Time, error) {
	br, h, head, err := readBackupHeader(r)
	if err != nil {
		return time.Time{}, err
	}
	fr := &frameReader{r: br, h: h}
	if _, err := io.Copy(io.Discard, fr); err != nil {
		return time.Time{}, err
	}
	return head.Created, nil
}

// readBackupHeader reads a backup's magic and header line.
func readBackupHeader(r io.Reader) (*bufio.Reader, hash.Hash, backupHeader, error) {
	var head backupHeader
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != backupMagic {
		return nil, nil, head, fmt.Errorf("%w: it does not start as a Lead backup does", ErrBadBackup)
	}
	line, err := br.ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &head) != nil {
		return nil, nil, head, fmt.Errorf("%w: its header does not read", ErrBadBackup)
	}
	if head.Store != formatVersion {
		return nil, nil, head, fmt.Errorf("the backup holds a %q store; this build reads %q", head.Store, formatVersion)
	}
	h := sha256.New()
	h.Write(magic)
	h.Write(line)
	return br, h, head, nil
}

// Restore loads the backup read from r into dir, which must not exist or
// be empty, and returns the backup's creation time. On any error dir is
// left as it was.
func Restore(ctx context.Context, r io.Reader, dir string, opts Options) (time.Time, error) {
	opts = opts.withDefaults()
	fail := func(err error) (time.Time, error) { return time.Time{}, fmt.Errorf("restore into %s: %w", dir, err) }
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fail(errors.New("the directory is not empty: restore into a new or empty directory, and start lead run on it"))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	br, h, head, err := readBackupHeader(r)
	if err != nil {
		return fail(err)
	}

	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".restoring-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	sp := newSpace(tmp, opts.MinFreeSpace)
	floor := 4 * opts.MemTableSize
	if err := sp.canOpen(floor); err != nil {
		return fail(err)
	}
	db, err := openBadger(opts.badger(tmp))
	if err != nil {
		return fail(err)
	}
	fr := &frameReader{r: br, h: h, check: func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return sp.canOpen(floor) // Badger writes through memory maps: stop before the disk is full
	}}
	err = db.Load(fr, 256)
	if err == nil && !fr.done {
		err = fmt.Errorf("%w: it ends before its end marker", ErrBadBackup)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	// Open it as the runtime will: the format, and every table verified.
	s, err := Open(tmp, opts)
	if err != nil {
		return fail(err)
	}
	if err := s.Close(); err != nil {
		return fail(err)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fail(err)
	}
	if err := syncDir(parent); err != nil {
		return fail(err)
	}
	return head.Created, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteFileAtomic writes what write produces to path through a temporary
// file in the same directory, synced and renamed into place, so that
// path is either whole or as it was. For backups.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone once renamed
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}
