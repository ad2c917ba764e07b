package sandbox

import "golang.org/x/sys/unix"

const (
	seccompArch   = unix.AUDIT_ARCH_AARCH64
	x32SyscallBit = 0
)

// archDenied is empty: arm64 has none of amd64's legacy calls.
var archDenied []uintptr
