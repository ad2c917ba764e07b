package host

import (
	"errors"
	"syscall"
)

// sysProcAttr puts a plugin in its own process group, so Close can kill it
// with everything it started, and asks the kernel to SIGKILL it when the host
// dies, so a host killed with SIGKILL leaves no plugin behind.
//
// Pdeathsig fires when the OS thread that forked the child exits, not the
// process. Go keeps its threads for the life of the process unless a
// goroutine exits while locked to one, which the manager never does.
// Grandchildren (a plugin's own interpreters) need their own Pdeathsig or
// must be killed by the plugin; the process-group kill covers them on Close.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup SIGKILLs the process group led by pid. A group already gone is
// not an error.
func killGroup(pid int) error {
	if pid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
