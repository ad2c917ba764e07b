package sandbox

import "golang.org/x/sys/unix"

const (
	seccompArch = unix.AUDIT_ARCH_X86_64
	// x32SyscallBit marks x32-ABI calls, which amd64 kernels may accept
	// with their own numbering.
	x32SyscallBit = 0x40000000
)

// archDenied are amd64-only calls: direct port I/O, LDT changes, uselib.
var archDenied = []uintptr{unix.SYS_IOPL, unix.SYS_IOPERM, unix.SYS_MODIFY_LDT, unix.SYS_USELIB}
