package host

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
)

// TestHostKilledLeavesNoPlugin SIGKILLs a host process that runs a plugin and
// checks that no process of the plugin's process group remains.
func TestHostKilledLeavesNoPlugin(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := exec.Command(exe)
	host.Env = append(os.Environ(), envHost+"=1")
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	host.Stderr = &stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		// Wait first: it joins the goroutine that copies into stderr.
		_ = host.Process.Kill()
		_ = host.Wait()
		t.Fatalf("read plugin pid from host: %v; host stderr: %s", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "PID ")))
	if err != nil || pid <= 0 {
		t.Fatalf("host said %q; want PID <n>", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d not running before the host is killed", pid)
	}
	// If the test fails, do not leave the orphaned plugin running.
	t.Cleanup(func() { _ = killGroup(pid) })
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	eventually.True(t, 10*time.Second, "plugin process group to exit", func() bool {
		return len(groupMembers(pid)) == 0
	})
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != "Z" && state != "X"
}

// groupMembers lists live processes in process group pgid, from /proc.
func groupMembers(pgid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if state, pg, ok := procStat(pid); ok && pg == pgid && state != "Z" && state != "X" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat reads a process's state and process group from /proc/<pid>/stat.
func procStat(pid int) (state string, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// The command name is parenthesised and may hold spaces; fields after
	// its closing paren are: state ppid pgrp ...
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 3 {
		return "", 0, false
	}
	pg, err := strconv.Atoi(fields[2])
	return fields[0], pg, err == nil
}
