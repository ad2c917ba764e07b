// Package proctest reads the host's process table for tests that must show
// that nothing a sandbox started is left running: the processes below a
// pid, which of them still run, how much memory they hold.
package proctest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Proc identifies a process across pid reuse: pid plus start time.
type Proc struct {
	PID, PPID int
	Start     uint64
	State     byte
}

func readStat(pid int) (Proc, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Proc{}, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Proc{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return Proc{PID: pid, PPID: ppid, Start: start, State: f[0][0]}, true
}

// all lists every process on the host.
func all() []Proc {
	ents, _ := os.ReadDir("/proc")
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// Descendants returns root and every process below it, root first.
func Descendants(root int) []Proc {
	procs := all()
	children := map[int][]Proc{}
	var self []Proc
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p)
		if p.PID == root {
			self = append(self, p)
		}
	}
	out := self
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].PID]...)
	}
	return out
}

// Running reports which of ps still run (not reaped, not zombies).
func Running(ps []Proc) []Proc {
	var out []Proc
	for _, p := range ps {
		if now, ok := readStat(p.PID); ok && now.Start == p.Start && now.State != 'Z' {
			out = append(out, now)
		}
	}
	return out
}

// RSSKB sums VmRSS over ps.
func RSSKB(ps []Proc) int64 {
	var sum int64
	for _, p := range ps {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.PID))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += kb
			}
		}
		f.Close()
	}
	return sum
}

// AssertGone fails t if any of ps still runs. A sandbox's kill returns
// only after its pid 1 is reaped, which the kernel allows only once every
// process of its pid namespace is gone, so callers need not wait.
func AssertGone(t testing.TB, what string, ps []Proc) {
	t.Helper()
	if left := Running(ps); len(left) > 0 {
		t.Errorf("%s: %d processes still running after kill: %+v", what, len(left), left)
	}
}
