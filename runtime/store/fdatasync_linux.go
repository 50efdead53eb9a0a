package store

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and the metadata needed to read it, not its
// times) to the device.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	cerr := rc.Control(func(fd uintptr) {
		for {
			err = syscall.Fdatasync(int(fd))
			if err != syscall.EINTR {
				return
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}
