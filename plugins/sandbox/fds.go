package sandbox

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// markInheritedCloseOnExec sets close-on-exec on every descriptor of this
// process above stderr. Go opens all of its own descriptors close-on-exec,
// so the ones this changes are those the process inherited from whoever
// started it (a shell's `9</`, a launcher's leaked socket) and any a C
// library opened without O_CLOEXEC. Left alone, exec.Cmd passes them to
// bwrap, bwrap to the sandbox, and the sandboxed code reads through them
// whatever they point at. ExtraFiles are unaffected: the child dup2s them
// into place after fork, which clears the flag on the copies.
//
// It is called before every interpreter start, so a descriptor that shows
// up later is covered too. One close_range(2) call (Linux 5.11); older
// kernels get a walk of /proc/self/fd.
func markInheritedCloseOnExec() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == int(d.Fd()) {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("set close-on-exec on fd %d: %w", fd, err)
		}
	}
	return nil
}
