//go:build amd64 || arm64

package sandbox

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData lays out struct seccomp_data the way bpf.VM reads it: the VM
// loads words big-endian where the kernel loads them in host order, so
// each word is written big-endian here to mean the same value.
func seccompData(arch, nr uint32, arg0 uint32) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[seccompDataNr:], nr)
	binary.BigEndian.PutUint32(b[seccompDataArch:], arch)
	binary.BigEndian.PutUint32(b[seccompDataArgs:], arg0)
	return b
}

// TestSeccompFilterDecisions runs the assembled filter in a BPF VM over
// every call it must refuse and a set it must let through, for the
// architecture the test is built for (CI builds amd64; GOARCH=arm64 go vet
// checks the arm64 table compiles).
func TestSeccompFilterDecisions(t *testing.T) {
	raw, err := seccompFilter()
	if err != nil {
		t.Fatal(err)
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	eperm := int(seccompRetErrno | uint32(unix.EPERM))
	enosys := int(seccompRetErrno | uint32(unix.ENOSYS))
	allow := int(seccompRetAllow)
	type call struct {
		name string
		arch uint32
		nr   uintptr
		arg0 uint32
		want int
	}
	calls := []call{
		{"read", seccompArch, unix.SYS_READ, 0, allow},
		{"write", seccompArch, unix.SYS_WRITE, 0, allow},
		{"openat", seccompArch, unix.SYS_OPENAT, 0, allow},
		{"mmap", seccompArch, unix.SYS_MMAP, 0, allow},
		{"execve", seccompArch, unix.SYS_EXECVE, 0, allow},
		{"memfd_create", seccompArch, unix.SYS_MEMFD_CREATE, 0, allow},
		{"clone a thread", seccompArch, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_THREAD, allow},
		{"clone a user namespace", seccompArch, unix.SYS_CLONE, unix.CLONE_NEWUSER | uint32(unix.SIGCHLD), eperm},
		{"unshare a mount namespace", seccompArch, unix.SYS_UNSHARE, unix.CLONE_NEWNS, allow},
		{"unshare a user namespace", seccompArch, unix.SYS_UNSHARE, unix.CLONE_NEWUSER, eperm},
		{"unshare user and mount", seccompArch, unix.SYS_UNSHARE, unix.CLONE_NEWUSER | unix.CLONE_NEWNS, eperm},
		{"clone3", seccompArch, unix.SYS_CLONE3, 0, enosys},
		{"foreign arch read", 0x40000003 /* AUDIT_ARCH_I386 */, 3, 0, eperm},
		{"foreign arch io_uring", unix.AUDIT_ARCH_AARCH64 ^ unix.AUDIT_ARCH_X86_64 ^ seccompArch, 425, 0, eperm},
	}
	if runtime.GOARCH == "amd64" {
		calls = append(calls, call{"x32 read", seccompArch, 0x40000000, 0, enosys},
			call{"x32 io_uring_setup", seccompArch, 0x40000000 + 425, 0, enosys})
	}
	for _, nr := range slices.Concat(deniedSyscalls, archDenied) {
		calls = append(calls, call{fmt.Sprintf("denied nr %d", nr), seccompArch, nr, 0, eperm})
	}
	for _, c := range calls {
		got, err := vm.Run(seccompData(c.arch, uint32(c.nr), c.arg0))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s (nr %d, arg0 %#x): %#x, want %#x", c.name, c.nr, c.arg0, got, c.want)
		}
	}
	if len(seccompBytes(raw)) != 8*len(raw) {
		t.Errorf("seccompBytes: %d bytes for %d instructions", len(seccompBytes(raw)), len(raw))
	}
}
