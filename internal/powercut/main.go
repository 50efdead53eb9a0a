// powercut: a power-loss test harness for any program that stores data.
// The store's and the runtime's power-loss tests build and run it
// (runtime/store/powercut_test.go, runtime/integration/powercut_test.go);
// kill -9 keeps the page cache, so it never shows what a power cut loses.
//
// A one-file FUSE file system serves a block-device image; a loop device on
// it carries ext4; the program under test runs on that ext4. Every write the
// loop device makes reaches this process, and so does every flush (the loop
// driver turns a device flush into an fsync of the backing file), so the
// harness knows exactly which writes are durable, as dm-log-writes would,
// without device-mapper. At a random moment the power "fails": flushes start
// failing, the child's process group is killed, and a crash image is built
// from the durable state plus a random subset of the 4 KiB blocks written
// since the last flush. The image is mounted (ext4 replays its journal) and
// the verify command checks the data against what the child acknowledged.
//
// The child protocol (stdout, one line each):
//
//	acked W N   writer W (any integer) has N acknowledged writes in all
//	start W N   (optional) writer W starts with N already acknowledged
//
// Environment: the child and verify get POWERCUT_DIR (an empty directory on
// the simulated disk, or the data left there), POWERCUT_PHASE (1, or 2 for
// the second run of -twophase, which resumes on the first crash image);
// verify and a phase-2 child get POWERCUT_ACKED ("W=N,W=N,...").
// verify exits 0 when nothing acknowledged was lost.
//
// Needs root, /dev/fuse, loop devices, mkfs.ext4.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

const imgSize = 1 << 30

type wr struct {
	off  int64
	data []byte // nil: zeros of length n
	n    int64
}

type disk struct {
	fs.Inode
	mu      sync.Mutex
	cur     *os.File // everything written: what reads see
	dur     *os.File // durable: as of the last flush
	pending []wr
	crashed bool
	flushes int
	writes  int
}

var _ = (fs.NodeOpener)((*disk)(nil))
var _ = (fs.NodeReader)((*disk)(nil))
var _ = (fs.NodeWriter)((*disk)(nil))
var _ = (fs.NodeFsyncer)((*disk)(nil))
var _ = (fs.NodeGetattrer)((*disk)(nil))
var _ = (fs.NodeSetattrer)((*disk)(nil))
var _ = (fs.NodeAllocater)((*disk)(nil))
var _ = (fs.NodeFlusher)((*disk)(nil))

func (d *disk) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (d *disk) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o644
	out.Size = imgSize
	out.Blocks = imgSize / 512
	return 0
}

func (d *disk) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return d.Getattr(ctx, f, out)
}

func (d *disk) Read(ctx context.Context, f fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.cur.ReadAt(dest, off)
	if err != nil && n == 0 && off < imgSize {
		// sparse tail
		for i := range dest {
			dest[i] = 0
		}
		n = len(dest)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (d *disk) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.cur.WriteAt(data, off); err != nil {
		return 0, syscall.EIO
	}
	d.writes++
	if !d.crashed {
		d.pending = append(d.pending, wr{off: off, data: append([]byte(nil), data...), n: int64(len(data))})
	}
	return uint32(len(data)), 0
}

func (d *disk) Allocate(ctx context.Context, f fs.FileHandle, off uint64, size uint64, mode uint32) syscall.Errno {
	// punch hole / zero range: zeros
	d.mu.Lock()
	defer d.mu.Unlock()
	z := make([]byte, 1<<20)
	for o := int64(off); o < int64(off+size); o += int64(len(z)) {
		n := min(int64(len(z)), int64(off+size)-o)
		d.cur.WriteAt(z[:n], o)
	}
	if !d.crashed {
		d.pending = append(d.pending, wr{off: int64(off), n: int64(size)})
	}
	return 0
}

func (d *disk) Flush(ctx context.Context, f fs.FileHandle) syscall.Errno { return 0 }

func (d *disk) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crashed {
		return syscall.EIO
	}
	for _, w := range d.pending {
		apply(d.dur, w, w.off, w.n)
	}
	d.pending = d.pending[:0]
	d.flushes++
	return 0
}

var zeros = make([]byte, 1<<20)

// apply writes the part [from, from+n) of w to f.
func apply(f *os.File, w wr, from, n int64) {
	if w.data != nil {
		f.WriteAt(w.data[from-w.off:from-w.off+n], from)
		return
	}
	for o := from; o < from+n; o += int64(len(zeros)) {
		m := min(int64(len(zeros)), from+n-o)
		f.WriteAt(zeros[:m], o)
	}
}

// crash stops durability: flushes fail from now on.
func (d *disk) crash() (pending int, bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.crashed = true
	for _, w := range d.pending {
		bytes += w.n
	}
	return len(d.pending), bytes
}

// image writes the crash image: the durable state plus each 4 KiB block of
// the writes since the last flush with probability keep, in order.
func (d *disk) image(path string, keep float64, rng *rand.Rand) (kept, dropped int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	run("cp", "--sparse=always", d.dur.Name(), path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, w := range d.pending {
		for o := w.off; o < w.off+w.n; {
			end := min((o/4096+1)*4096, w.off+w.n)
			if rng.Float64() < keep {
				apply(f, w, o, end-o)
				kept++
			} else {
				dropped++
			}
			o = end
		}
	}
	return kept, dropped
}

type root struct{ fs.Inode }

func run(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		log.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func tryRun(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v: %s", name, args, err, out)
	}
	return nil
}

var (
	work     = flag.String("work", "", "work directory (default: a new temporary directory)")
	child    = flag.String("child", "", "shell command that writes to $POWERCUT_DIR and prints `acked W N` lines")
	verify   = flag.String("verify", "", "shell command that checks $POWERCUT_DIR against $POWERCUT_ACKED; exit 0 = nothing lost")
	rounds   = flag.Int("rounds", 5, "rounds (each a fresh file system)")
	minRun   = flag.Duration("min", 2*time.Second, "least run time after the first ack before the power fails")
	maxRun   = flag.Duration("max", 8*time.Second, "most run time after the first ack before the power fails")
	keep     = flag.Float64("keep", -1, "probability a block written since the last flush survives (-1: 0, 0.5, 0.9 or 1 at random per round)")
	twoPhase = flag.Bool("twophase", false, "after the first cut, run the child again on the crash image (recovery under load) and cut again")
	seed     = flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (printed; reuse it to repeat a run)")
)

type acks map[int]int

func (a acks) String() string {
	var ks []int
	for k := range a {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	var s []string
	for _, k := range ks {
		s = append(s, fmt.Sprintf("%d=%d", k, a[k]))
	}
	return strings.Join(s, ",")
}

func main() {
	flag.Parse()
	if *child == "" || *verify == "" {
		fmt.Fprintln(os.Stderr, "usage: powercut -child CMD -verify CMD [-rounds N] [-twophase] [-keep P] [-seed S]")
		os.Exit(2)
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	if *work == "" {
		d, err := os.MkdirTemp("", "powercut-")
		if err != nil {
			log.Fatal(err)
		}
		*work = d
	}
	rng := rand.New(rand.NewPCG(*seed, 7))
	log.Printf("seed %d, work %s", *seed, *work)
	os.MkdirAll(*work, 0o755)
	fails := 0
	for r := 0; r < *rounds; r++ {
		k := *keep
		if k < 0 {
			k = []float64{0, 0.5, 0.9, 1}[rng.IntN(4)]
		}
		if !round(r, rng, k) {
			fails++
		}
	}
	fmt.Printf("powercut: %d rounds, %d lost acknowledged data\n", *rounds, fails)
	if fails > 0 {
		os.Exit(1)
	}
}

// round runs one round on a fresh file system; true if nothing was lost.
func round(r int, rng *rand.Rand, keep float64) bool {
	dir := filepath.Join(*work, fmt.Sprint("r", r))
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	base := filepath.Join(dir, "base.img")
	run("truncate", "-s", fmt.Sprint(imgSize), base)
	img, acked := phase(dir, 1, base, true, rng, keep, acks{})
	if img == "" {
		return false
	}
	if *twoPhase {
		cp := img + ".verify"
		run("cp", "--sparse=always", img, cp)
		if !check(dir, cp, acked, "p1") {
			return false
		}
		os.Remove(cp)
		if img, acked = phase(dir, 2, img, false, rng, keep, acked); img == "" {
			return false
		}
	}
	ok := check(dir, img, acked, "final")
	if ok {
		os.RemoveAll(dir)
	}
	return ok
}

// phase serves the image from through FUSE, runs the child on it, cuts the
// power and returns the crash image and what each writer had acknowledged.
func phase(dir string, n int, from string, fresh bool, rng *rand.Rand, keep float64, prev acks) (string, acks) {
	name := fmt.Sprint("p", n)
	cur := filepath.Join(dir, name+"-cur.img")
	dur := filepath.Join(dir, name+"-dur.img")
	run("cp", "--sparse=always", from, cur)
	run("cp", "--sparse=always", from, dur)
	d := &disk{}
	var err error
	if d.cur, err = os.OpenFile(cur, os.O_RDWR, 0); err != nil {
		log.Fatal(err)
	}
	if d.dur, err = os.OpenFile(dur, os.O_RDWR, 0); err != nil {
		log.Fatal(err)
	}
	defer d.cur.Close()
	defer d.dur.Close()
	fmnt := filepath.Join(dir, name+"-fuse")
	emnt := filepath.Join(dir, name+"-ext4")
	os.MkdirAll(fmnt, 0o755)
	os.MkdirAll(emnt, 0o755)
	rt := &root{}
	srv, err := fs.Mount(fmnt, rt, &fs.Options{
		MountOptions: fuse.MountOptions{DirectMount: true, MaxWrite: 1 << 20, FsName: "powercut", Name: "powercut"},
		OnAdd: func(ctx context.Context) {
			ch := rt.NewPersistentInode(ctx, d, fs.StableAttr{Mode: syscall.S_IFREG})
			rt.AddChild("disk", ch, false)
		},
	})
	if err != nil {
		log.Fatalf("fuse mount: %v", err)
	}
	defer srv.Unmount()
	loop := run("losetup", "-f", "--show", "--direct-io=on", filepath.Join(fmnt, "disk"))
	defer func() {
		if err := tryRun("losetup", "-d", loop); err != nil {
			log.Print(err)
		}
	}()
	if fresh {
		run("mkfs.ext4", "-q", "-F", "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0", loop)
	}
	run("mount", "-o", "nodiscard", loop, emnt)
	mounted := true
	defer func() {
		if mounted {
			if err := tryRun("umount", emnt); err != nil {
				log.Print(err)
				tryRun("umount", "-l", emnt)
			}
		}
	}()
	data := filepath.Join(emnt, "data")
	os.MkdirAll(data, 0o755)
	run("sync", "-f", data) // the directory durable, so every crash image has it

	cmd := exec.Command("sh", "-c", *child)
	cmd.Env = append(os.Environ(), "POWERCUT_DIR="+data, fmt.Sprint("POWERCUT_PHASE=", n), "POWERCUT_ACKED="+prev.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	acked := acks{}
	for k, v := range prev {
		acked[k] = v
	}
	runFor := *minRun + time.Duration(rng.Int64N(int64(*maxRun-*minRun)+1))
	var deadline time.Time
	cut := false
	var cutInfo string
	total := 0
	var once sync.Once
	cutNow := func() {
		once.Do(func() {
			p, b := d.crash()
			kill()
			cut = true
			cutInfo = fmt.Sprintf("%d writes (%d bytes) since the last flush", p, b)
		})
	}
	safety := time.AfterFunc(*maxRun+60*time.Second, func() {
		log.Printf("%s: no ack for too long; cutting the power", name)
		cutNow()
	})
	defer safety.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		var w, k int
		if _, err := fmt.Sscanf(line, "acked %d %d", &w, &k); err == nil {
			if k < acked[w] {
				log.Printf("%s: writer %d acked %d after %d", name, w, k, acked[w])
			}
			acked[w] = max(acked[w], k)
			total++
			if deadline.IsZero() {
				deadline = time.Now().Add(runFor)
				// The power fails at the deadline by the clock, not at
				// the next ack line: a program that acks right after
				// each flush would otherwise always be cut in the quiet
				// moment after one, with nothing in flight.
				cutter := time.AfterFunc(runFor, cutNow)
				defer cutter.Stop()
			}
		} else if _, err := fmt.Sscanf(line, "start %d %d", &w, &k); err == nil {
			acked[w] = max(acked[w], k)
		} else {
			log.Printf("%s child: %s", name, line)
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			cutNow()
		}
	}
	cmd.Wait()
	kill()
	if !cut {
		log.Printf("%s: the child exited before the power cut", name)
		return "", nil
	}
	log.Printf("%s: power cut after %v: %d acks; %d flushes, %d writes; %s", name, runFor, total, d.flushes, d.writes, cutInfo)
	time.Sleep(200 * time.Millisecond) // let the killed group release the mount
	if err := tryRun("umount", emnt); err != nil {
		tryRun("umount", "-l", emnt)
	}
	mounted = false
	img := filepath.Join(dir, name+"-crash.img")
	kept, dropped := d.image(img, keep, rng)
	log.Printf("%s: the crash image keeps %d and drops %d blocks written since the last flush (keep %.1f)", name, kept, dropped, keep)
	os.Remove(cur)
	os.Remove(dur)
	return img, acked
}

// check mounts img and runs the verify command against acked.
func check(dir, img string, acked acks, name string) bool {
	loop := run("losetup", "-f", "--show", img)
	defer tryRun("losetup", "-d", loop)
	mnt := filepath.Join(dir, name+"-verify")
	os.MkdirAll(mnt, 0o755)
	if err := tryRun("mount", loop, mnt); err != nil {
		log.Printf("%s: FAIL: the file system does not mount: %v", name, err)
		return false
	}
	defer tryRun("umount", mnt)
	cmd := exec.Command("sh", "-c", *verify)
	cmd.Env = append(os.Environ(), "POWERCUT_DIR="+filepath.Join(mnt, "data"), "POWERCUT_PHASE=verify", "POWERCUT_ACKED="+acked.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.CombinedOutput()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		log.Printf("%s: FAIL (acked %v):\n%s", name, acked, out)
		return false
	}
	log.Printf("%s: ok (acked %v)", name, acked)
	return true
}
