package sandbox

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// setLimits sets the rlimits on pid (hard = soft, except CPU whose hard
// limit is a second later so SIGXCPU comes first). In a sandbox pid is its
// pid 1, blocked before it forks the command, so the command and
// everything it starts inherit them.
func setLimits(pid int, l Limits) error {
	cpu := uint64(l.CPUTime / time.Second)
	set := []struct {
		name     string
		res      int
		cur, max uint64
	}{
		{"RLIMIT_AS", unix.RLIMIT_AS, uint64(l.MemoryBytes), uint64(l.MemoryBytes)},
		{"RLIMIT_NPROC", unix.RLIMIT_NPROC, uint64(l.Processes), uint64(l.Processes)},
		{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE, uint64(l.FileBytes), uint64(l.FileBytes)},
		{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, uint64(l.OpenFiles), uint64(l.OpenFiles)},
		{"RLIMIT_CPU", unix.RLIMIT_CPU, cpu, cpu + 1},
		{"RLIMIT_CORE", unix.RLIMIT_CORE, 0, 0},
	}
	for _, r := range set {
		if err := unix.Prlimit(pid, r.res, &unix.Rlimit{Cur: r.cur, Max: r.max}, nil); err != nil {
			return fmt.Errorf("set %s of pid %d: %w", r.name, pid, err)
		}
	}
	return nil
}

// setLimitsAs calls setLimits, as uid and gid NobodyID when asNobody.
//
// prlimit(2) on another process needs the caller's real uid and gid to
// match the target's, or CAP_SYS_RESOURCE over the target's user
// namespace. A host root without CAP_SYS_RESOURCE (a container's root
// usually) matches neither for a sandbox started as nobody, so the call is
// made from a locked thread whose real ids are NobodyID for the moment;
// the effective ids stay 0, so the thread keeps its capabilities and
// switches back. set*id system calls act per thread at the kernel level
// (Go's syscall.Setuid applies them to every thread; the raw calls here do
// not). The thread must survive: a sandbox started from it would get its
// parent-death signal if it ended, so only a thread that cannot switch
// back is left to die with its goroutine.
func setLimitsAs(pid int, l Limits, asNobody bool) error {
	if !asNobody {
		return setLimits(pid, l)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- asRealNobody(func() error { return setLimits(pid, l) })
	}()
	return <-errc
}

// asRealNobody runs f with the calling thread's real uid and gid set to
// NobodyID and unlocks the thread once they are back to what they were.
func asRealNobody(f func() error) error {
	uid, gid := uintptr(unix.Getuid()), uintptr(unix.Getgid())
	keep := ^uintptr(0) // -1: leave this id as it is
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, NobodyID, keep, keep); e != 0 {
		runtime.UnlockOSThread()
		return fmt.Errorf("set real gid %d on the rlimit thread: %w", NobodyID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, NobodyID, keep, keep); e != 0 {
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, gid, keep, keep); e == 0 {
			runtime.UnlockOSThread()
		}
		return fmt.Errorf("set real uid %d on the rlimit thread: %w", NobodyID, e)
	}
	err := f()
	_, _, eu := unix.RawSyscall(unix.SYS_SETRESUID, uid, keep, keep)
	_, _, eg := unix.RawSyscall(unix.SYS_SETRESGID, gid, keep, keep)
	if eu == 0 && eg == 0 {
		runtime.UnlockOSThread()
	}
	return err
}
