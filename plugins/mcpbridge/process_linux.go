package mcpbridge

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel SIGKILL an MCP server when the bridge dies,
// even by SIGKILL: the host kills the bridge's process group on a stop, but
// only the parent-death signal covers a host (and so a bridge) that was
// SIGKILLed. The server stays in the bridge's process group, so the host's
// group kill reaches it too.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
