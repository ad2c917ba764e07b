//go:build !linux

package mcpbridge

import "os/exec"

// setDeathSignal: only Linux has a parent-death signal; elsewhere the host's
// process-group kill is what stops an MCP server.
func setDeathSignal(*exec.Cmd) {}
