//go:build amd64 || arm64

package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp filter is a deny list on top of the namespaces, not the
// sandbox itself: bwrap's namespaces and mounts already hide the host; the
// filter takes away kernel interfaces that have been the way out of such
// sandboxes (io_uring, keyrings, eBPF, perf, ptrace of a sibling, the new
// mount API, user namespaces for a second try at all of it). Ordinary
// Python, numpy and sympy never call any of them.
//
// It is built here rather than with a library because a foreign-ABI call
// must not fall through to "allow": on amd64 the x32 ABI (nr with bit 30)
// and the i386 ABI (int 0x80, another audit arch) reach the same kernel
// with other numbers, and a deny list keyed on x86-64 numbers would miss
// them. Both are refused here as a whole.

// Return values of a seccomp filter (linux/seccomp.h).
const (
	seccompRetAllow = unix.SECCOMP_RET_ALLOW
	seccompRetErrno = unix.SECCOMP_RET_ERRNO
)

// Offsets into struct seccomp_data: nr, arch, instruction pointer, args.
const (
	seccompDataNr   = 0
	seccompDataArch = 4
	seccompDataArgs = 16
)

// deniedSyscalls fail with EPERM. archDenied (per GOARCH) adds the ones
// only some architectures have.
var deniedSyscalls = []uintptr{
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
	unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD,
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_PIDFD_GETFD,
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
	unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_OPEN_TREE_ATTR, unix.SYS_FSOPEN, unix.SYS_FSCONFIG,
	unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOUNT_SETATTR,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_REBOOT, unix.SYS_SETNS,
	unix.SYS_ACCT, unix.SYS_QUOTACTL, unix.SYS_QUOTACTL_FD,
	unix.SYS_NAME_TO_HANDLE_AT, unix.SYS_OPEN_BY_HANDLE_AT,
	unix.SYS_FANOTIFY_INIT, unix.SYS_LOOKUP_DCOOKIE, unix.SYS_SYSLOG, unix.SYS_VHANGUP,
	unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME, unix.SYS_CLOCK_ADJTIME, unix.SYS_ADJTIMEX,
}

// seccompFilter assembles the filter for the running architecture:
//
//   - another audit arch (i386 on amd64): EPERM for every call;
//   - the x32 ABI (amd64): ENOSYS;
//   - deniedSyscalls and archDenied: EPERM;
//   - unshare and clone with CLONE_NEWUSER: EPERM (bwrap's --disable-userns
//     says the same from inside the kernel; this holds without it);
//   - clone3: ENOSYS, because its flags sit in memory a filter cannot read;
//     glibc then falls back to clone, whose flags the filter checks;
//   - everything else is allowed.
func seccompFilter() ([]bpf.RawInstruction, error) {
	deny := slices.Concat(deniedSyscalls, archDenied)
	eperm := bpf.RetConstant{Val: seccompRetErrno | uint32(unix.EPERM)}
	enosys := bpf.RetConstant{Val: seccompRetErrno | uint32(unix.ENOSYS)}
	allow := bpf.RetConstant{Val: seccompRetAllow}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompDataArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: seccompArch, SkipTrue: 1},
		eperm,
		bpf.LoadAbsolute{Off: seccompDataNr, Size: 4},
	}
	if x32SyscallBit != 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
			enosys)
	}
	for _, nr := range deny {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: 1}, eperm)
	}
	prog = append(prog,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE3, SkipFalse: 1}, enosys,
		// unshare(flags) and clone(flags, ...) both carry the flags in the
		// low word of the first argument (little-endian on amd64 and arm64).
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_UNSHARE, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE, SkipFalse: 3},
		bpf.LoadAbsolute{Off: seccompDataArgs, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: unix.CLONE_NEWUSER, SkipFalse: 1},
		eperm,
		allow,
	)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp filter: %w", err)
	}
	return raw, nil
}

// seccompBytes is the filter as bwrap's --seccomp reads it: an array of
// struct sock_filter in host byte order.
func seccompBytes(raw []bpf.RawInstruction) []byte {
	b := make([]byte, 0, 8*len(raw))
	for _, ins := range raw {
		b = binary.NativeEndian.AppendUint16(b, ins.Op)
		b = append(b, ins.Jt, ins.Jf)
		b = binary.NativeEndian.AppendUint32(b, ins.K)
	}
	return b
}

// seccompPipe returns the read end of a pipe that holds the filter, for
// bwrap's --seccomp; bwrap reads it to EOF and closes it before the code
// runs. The filter is a few hundred bytes, far below a pipe's buffer, so
// the write never blocks.
func seccompPipe(filter []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("seccomp pipe: %w", err)
	}
	_, werr := w.Write(filter)
	cerr := w.Close()
	if werr != nil || cerr != nil {
		r.Close()
		return nil, fmt.Errorf("write seccomp filter: %w", errors.Join(werr, cerr))
	}
	return r, nil
}
