package python

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// procInfo identifies a process across pid reuse: pid plus start time.
type procInfo struct {
	pid, ppid int
	start     uint64
	state     byte
}

func readStat(pid int) (procInfo, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return procInfo{pid: pid, ppid: ppid, start: start, state: f[0][0]}, true
}

// allProcs lists every process on the host.
func allProcs() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
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

// descendants returns root and every process below it.
func descendants(root int) []procInfo {
	procs := allProcs()
	children := map[int][]procInfo{}
	var self []procInfo
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p)
		if p.pid == root {
			self = append(self, p)
		}
	}
	out := self
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].pid]...)
	}
	return out
}

// running reports which of ps still run (not reaped, not zombies).
func running(ps []procInfo) []procInfo {
	var out []procInfo
	for _, p := range ps {
		if now, ok := readStat(p.pid); ok && now.start == p.start && now.state != 'Z' {
			out = append(out, now)
		}
	}
	return out
}

// rssKB sums VmRSS over ps.
func rssKB(ps []procInfo) int64 {
	var sum int64
	for _, p := range ps {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid))
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

// assertGone fails t if any of ps still runs. kill returns only after the
// sandbox's pid 1 is reaped, which the kernel allows only once every
// process of its pid namespace is gone, so no waiting is needed.
func assertGone(t testing.TB, what string, ps []procInfo) {
	t.Helper()
	if left := running(ps); len(left) > 0 {
		t.Errorf("%s: %d processes still running after kill: %+v", what, len(left), left)
	}
}
