package scale

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times;
// 100 on every architecture Go supports there.
const clockTick = 100

// procStats reads a process's CPU time (user + system) and resident memory
// from /proc; pid 0 is this process.
func procStats(pid int) (cpu time.Duration, rss int64, err error) {
	dir := "/proc/self"
	if pid > 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("scale: read %s/stat: %w", dir, err)
	}
	// Fields after the command name, which may hold spaces: state is the
	// 3rd field of the line, utime the 14th, stime the 15th.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 22 {
		return 0, 0, fmt.Errorf("scale: %s/stat: %d fields", dir, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	cpu = time.Duration(ut+st) * time.Second / clockTick
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return cpu, 0, fmt.Errorf("scale: read %s/status: %w", dir, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	return cpu, rss, nil
}

// loadAvg is the 1-minute load average, 0 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func jsonConfig(cfg cluster.Config) ([]byte, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("scale: encode cluster config: %w", err)
	}
	return b, nil
}
