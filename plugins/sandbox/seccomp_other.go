//go:build !amd64 && !arm64

package sandbox

import (
	"errors"
	"os"

	"golang.org/x/net/bpf"
)

// No syscall table here: seccompFilter refuses, and with it New, unless the
// sandbox is off (WithInsecureNoSandbox).
func seccompFilter() ([]bpf.RawInstruction, error) {
	return nil, errors.New("seccomp filter: no syscall table for this architecture (amd64 and arm64 have one)")
}

func seccompBytes([]bpf.RawInstruction) []byte { return nil }

func seccompPipe([]byte) (*os.File, error) {
	return nil, errors.New("seccomp: unsupported architecture")
}
