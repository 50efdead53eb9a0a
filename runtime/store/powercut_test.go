package store_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/powercut/powercuttest"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/storetest"
)

// verifyDirEnv tells a re-executed test binary to be the power-loss
// test's verifier: check the store in that directory against
// POWERCUT_ACKED.
const verifyDirEnv = "LEAD_STORE_VERIFY_DIR"

// TestPowerCut runs TestCrash's child on a simulated disk and cuts the
// power under it (internal/powercut): what survives is only what was
// flushed, not the page cache a kill -9 keeps. Every batch acknowledged
// must be there, completely, and none half applied; with two phases, the
// child resumes on the first crash image and the power fails again while
// the store recovers and takes new writes. Small memtables make Badger
// rotate its log and flush tables many times a second.
func TestPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("power-loss test: not in -short")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := fmt.Sprintf(`%s="$POWERCUT_DIR" %s=%d exec %s -test.run='^TestCrash$'`, crashDirEnv, crashMemEnv, 1<<20, bin)
	verify := fmt.Sprintf(`%s="$POWERCUT_DIR" exec %s -test.run='^TestPowerCutVerify$' -test.v`, verifyDirEnv, bin)
	for _, twoPhase := range []bool{false, true} {
		t.Run(fmt.Sprint("twophase=", twoPhase), func(t *testing.T) {
			powercuttest.Run(t, powercuttest.Config{
				Child: child, Verify: verify, Rounds: 3, TwoPhase: twoPhase,
				Min: 500 * time.Millisecond, Max: 3 * time.Second,
			})
		})
	}
}

// TestPowerCutVerify is TestPowerCut's verifier, run by the harness on
// each crash image.
func TestPowerCutVerify(t *testing.T) {
	dir := os.Getenv(verifyDirEnv)
	if dir == "" {
		t.Skip("run by TestPowerCut")
	}
	acked := make([]int, storetest.CrashWriters)
	for kv := range strings.SplitSeq(os.Getenv("POWERCUT_ACKED"), ",") {
		w, n, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		wi, err1 := strconv.Atoi(w)
		ni, err2 := strconv.Atoi(n)
		if err1 != nil || err2 != nil || wi < 0 || wi >= storetest.CrashWriters {
			t.Fatalf("POWERCUT_ACKED %q", os.Getenv("POWERCUT_ACKED"))
		}
		acked[wi] = ni
	}
	s, err := store.Open(dir, store.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckCrashed(t, s, acked)
}
