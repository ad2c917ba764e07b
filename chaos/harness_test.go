package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/trajectory"
)

const (
	testModel = "sim-test"
	// startLimit bounds a process's start; jobLimit a whole job.
	startLimit = 60 * time.Second
	jobLimit   = 120 * time.Second
	// leaseTTL is the workers' lease in these tests.
	leaseTTL = 2 * time.Second
)

// bin is the hintfleet binary TestMain builds.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hintfleet-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "hintfleet")
	build := exec.Command("go", "build", "-o", bin, "github.com/hintfleet/hintfleet/cmd/hintfleet")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: build hintfleet:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if maxUnowned.runs > 0 {
		// Over every run of this process that measured it (unowned_test.go).
		bench("max_task_unowned_s", maxUnowned.d.Seconds(), "s")
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// logPath is where the output of the process name goes: the test's temp
// dir, or $HINTFLEET_CHAOS_LOGS when set, so that the logs of a run that
// failed outlive it (a restarted process appends to its earlier log).
func logPath(t testing.TB, name string) string {
	dir := os.Getenv("HINTFLEET_CHAOS_LOGS")
	if dir == "" {
		return filepath.Join(t.TempDir(), name+".log")
	}
	dir = filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name+".log")
}

// proc is one hintfleet process. Its output lines are kept in memory (and
// in a log file in the test's temp dir) so that a test waits for a line
// the process prints instead of sleeping. Cleanup kills it if it still runs.
type proc struct {
	name  string
	cmd   *exec.Cmd
	donec chan struct{} // closed when the process has exited and its output is read

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
	exitErr error
}

// start runs hintfleet with args as a new process named name.
func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	return startPath(t, name, bin, args...)
}

// startPath runs the program at path (hintfleet, or a server the test runs
// beside it) with args as a new process named name.
func startPath(t testing.TB, name, path string, args ...string) *proc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(logPath(t, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: exec.Command(path, args...), donec: make(chan struct{}), changed: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	// A test binary killed from outside (a timeout, ^C) takes its servers
	// and workers with it instead of leaving them running.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	_ = w.Close() // the child holds the write end; EOF comes when it exits
	readc := make(chan struct{})
	go func() { // owned: donec waits for it
		defer close(readc)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			p.mu.Lock()
			p.lines = append(p.lines, line)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		_ = r.Close()
		_ = logf.Close()
	}()
	go func() { // owned: cleanup waits on donec
		err := p.cmd.Wait()
		<-readc
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(p.donec)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.donec
		if t.Failed() {
			p.mu.Lock()
			tail := p.lines[max(len(p.lines)-25, 0):]
			p.mu.Unlock()
			t.Logf("--- last lines of %s:\n%s", name, strings.Join(tail, "\n"))
		}
	})
	return p
}

// signal sends sig to the process unless it has exited.
func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.donec:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// waitStopped waits until every thread of p is stopped, after SIGSTOP:
// kill(2) returns before a thread inside a system call (a write) has
// finished it, so what p wrote is not final before this.
func (p *proc) waitStopped(t testing.TB) {
	t.Helper()
	pid := p.cmd.Process.Pid
	eventually.True(t, startLimit, p.name+" stopped", func() bool {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil || len(tasks) == 0 {
			return false
		}
		for _, e := range tasks {
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
			if err != nil {
				return false
			}
			// pid (comm) state ...: the state follows the last ')'.
			i := bytes.LastIndexByte(stat, ')')
			if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
				return false
			}
		}
		return true
	})
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.donec
}

// waitLine waits until the process has printed a line containing substr
// and returns it; it fails when the process exits first or time runs out.
func (p *proc) waitLine(t testing.TB, substr string, limit time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.lines); seen++ {
			if strings.Contains(p.lines[seen], substr) {
				l := p.lines[seen]
				p.mu.Unlock()
				return l
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.donec:
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if seen >= n {
				t.Fatalf("%s exited (%v) before printing %q", p.name, p.exitErr, substr)
			}
		case <-deadline.C:
			t.Fatalf("%s did not print %q within %v", p.name, substr, limit)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// problem is one line of a test problems file.
type problem struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// writeProblems writes n arithmetic problems the sim reasoner knows, plus
// (poison) one whose question is longer than the sim's context: the engine
// answers 400 on every attempt, so the task can only be dead-lettered.
func writeProblems(t testing.TB, n int, poison bool) (string, []problem) {
	t.Helper()
	ps := make([]problem, n)
	for i := range ps {
		ps[i] = problem{ID: fmt.Sprintf("p%03d", i),
			Question: fmt.Sprintf("Problem %03d: what is %d plus %d? Give the number.", i, 17*i+3, 29*i+5),
			Answer:   strconv.Itoa(46*i + 8)}
	}
	if poison {
		ps = append(ps, problem{ID: "poison", Question: strings.Repeat("Consider this very long preamble. ", 3000) + "What is 1 plus 1?", Answer: "2"})
	}
	var b bytes.Buffer
	for _, p := range ps {
		line, _ := json.Marshal(p)
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "problems.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ps
}

// fleet is one test's fleet: data dir, servers, sim engine and a
// connection for the test's own reads of etcd and NATS.
type fleet struct {
	t        testing.TB
	dir      string
	problems string
	servers  *proc
	sim      *proc
	engine   string
	conn     *cluster.Conn
}

// simArgs are the sim engine's settings: each generation runs a few
// seconds, so a test can act while tasks are mid-generation.
var simArgs = []string{"--model", testModel, "--speedup", "3", "--reasoning-tokens", "300", "--max-model-len", "8192"}

// newFleet starts the sim engine (knowing the problems file) and the
// embedded servers (`up --workers 0 --coordinator=false`).
func newFleet(t testing.TB, problemsPath string, extraSim ...string) *fleet {
	t.Helper()
	f := &fleet{t: t, dir: t.TempDir(), problems: problemsPath}
	f.startSim(extraSim...)
	f.startServers()
	return f
}

func (f *fleet) startSim(extra ...string) {
	args := append([]string{"sim-engine", "--listen", "127.0.0.1:0", "--problems", f.problems}, simArgs...)
	f.sim = start(f.t, "sim", append(args, extra...)...)
	f.engine = strings.TrimPrefix(f.sim.waitLine(f.t, "listening on ", startLimit), "listening on ")
}

// startServers (re)starts the embedded servers on the fleet's data dir;
// a restart listens on the same ports (cluster keeps them in ports.json).
func (f *fleet) startServers() {
	f.servers = start(f.t, "servers", "up", "--data", f.dir, "--workers", "0", "--coordinator=false")
	f.servers.waitLine(f.t, `msg="fleet up"`, startLimit)
	if f.conn == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startLimit)
		defer cancel()
		ep, err := cluster.WaitEndpoints(ctx, f.dir)
		if err != nil {
			f.t.Fatal(err)
		}
		// up locks its servers: the harness reads them as the coordinator.
		cfg, err := ep.ConfigFor(cluster.NATSCoordinatorUser)
		if err != nil {
			f.t.Fatal(err)
		}
		conn, err := cluster.Connect(ctx, cfg)
		if err != nil {
			f.t.Fatal(err)
		}
		f.t.Cleanup(func() { _ = conn.Close() })
		f.conn = conn
	}
}

// coord is one coordinator replica process.
type coord struct {
	*proc
	api string
}

// startCoord starts a coordinator replica on port (0: a free one).
func (f *fleet) startCoord(name string, port int, extra ...string) *coord {
	if port == 0 {
		port = freePort(f.t)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"coordinator", "--endpoints", cluster.EndpointsPath(f.dir), "--data", f.dir,
		"--listen", listen, "--election-ttl", "2s", "--max-attempts", "3"}, extra...)
	p := start(f.t, name, args...)
	p.waitLine(f.t, `msg="coordinator replica up"`, startLimit)
	return &coord{proc: p, api: "http://" + listen}
}

// leads reports whether the replica says it leads.
func (c *coord) leads() bool {
	resp, err := http.Get(c.api + "/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct{ Leader bool }
	return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Leader
}

func (f *fleet) waitLeader(c *coord) {
	eventually.True(f.t, startLimit, c.name+" leads", c.leads)
}

// startWorker starts a worker process on the fleet's engine.
func (f *fleet) startWorker(id string, concurrency int, extra ...string) *proc {
	args := append([]string{"worker", "--endpoints", cluster.EndpointsPath(f.dir), "--engine", f.engine,
		"--model", testModel, "--id", id, "--no-tools", "--lease-ttl", leaseTTL.String(),
		"--checkpoint-every", "100ms", "--concurrency", strconv.Itoa(concurrency)}, extra...)
	p := start(f.t, id, args...)
	p.waitLine(f.t, `msg="worker up"`, startLimit)
	return p
}

// submit submits the fleet's problems through the CLI and returns the job id.
func (f *fleet) submit(api, id string, samples int, extra ...string) string {
	f.t.Helper()
	// --data: the API token `up` generated, named by endpoints.json.
	args := append([]string{"submit", f.problems, "--api", api, "--data", f.dir, "--model", testModel, "--id", id,
		"--samples", strconv.Itoa(samples), "--json"}, extra...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("submit: %v\n%s", err, out)
	}
	var j coordinator.Job
	if err := json.Unmarshal(out, &j); err != nil {
		f.t.Fatalf("submit output: %v\n%s", err, out)
	}
	return j.ID
}

// waitJob waits, watching the job's registry key in etcd, until it is
// terminal, and returns the record.
func (f *fleet) waitJob(id string, limit time.Duration) coordinator.Job {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	key := cluster.JobKey(id)
	var j coordinator.Job
	for ctx.Err() == nil {
		resp, err := f.conn.Etcd.Get(ctx, key)
		if err != nil { // etcd restarting: the client reconnects
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if len(resp.Kvs) == 1 && json.Unmarshal(resp.Kvs[0].Value, &j) == nil && j.State.Terminal() {
			return j
		}
		wctx, wcancel := context.WithCancel(ctx)
		for wr := range f.conn.Etcd.Watch(wctx, key, clientv3.WithRev(resp.Header.Revision+1)) {
			done := false
			for _, ev := range wr.Events {
				if json.Unmarshal(ev.Kv.Value, &j) == nil && j.State.Terminal() {
					done = true
				}
			}
			if done {
				wcancel()
				return j
			}
		}
		wcancel()
	}
	f.t.Fatalf("job %s not terminal within %v; last %s %+v", id, limit, j.State, j.Counts)
	return j
}

// claims returns the tasks a worker holds claims for now.
func (f *fleet) claims(worker string) map[string]int64 {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.conn.Etcd.Get(ctx, cluster.ClaimsPrefix, clientv3.WithPrefix())
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, kv := range resp.Kvs {
		if v, err := cluster.DecodeClaim(kv.Value); err == nil && (worker == "" || v.Worker == worker) {
			out[v.Task] = kv.CreateRevision
		}
	}
	return out
}

// engineTokens reads the sim's vllm:generation_tokens_total.
func (f *fleet) engineTokens() float64 {
	f.t.Helper()
	resp, err := http.Get(f.engine + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "vllm:generation_tokens_total") {
			fs := strings.Fields(l)
			v, _ := strconv.ParseFloat(fs[len(fs)-1], 64)
			return v
		}
	}
	f.t.Fatal("sim /metrics has no vllm:generation_tokens_total")
	return 0
}

// outLine is the part of an output line the tally reads.
type outLine struct {
	TaskID  string `json:"task_id"`
	Worker  string `json:"worker"`
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
	Tokens  struct {
		Completion int `json:"completion"`
		Wasted     int `json:"wasted"`
	} `json:"tokens"`
}

// tally is what a job's output holds.
type tally struct {
	submitted, written, dead, dup, lost int
	completion, wasted                  int
	byTask                              map[string]outLine
	deadBy                              map[string]outLine
}

func (tl tally) String() string {
	return fmt.Sprintf("submitted %d, written %d, dead-lettered %d, duplicated %d, lost %d",
		tl.submitted, tl.written, tl.dead, tl.dup, tl.lost)
}

// read reads the job's output files and fails the test on any line that
// does not parse or is not ended by a newline (a torn write). Duplicates
// are counted, not failed on.
func (f *fleet) read(job string) tally {
	f.t.Helper()
	tl := tally{byTask: map[string]outLine{}, deadBy: map[string]outLine{}}
	for _, name := range []string{coordinator.TrajectoriesFile, coordinator.DeadLettersFile} {
		b, err := os.ReadFile(filepath.Join(f.dir, "jobs", job, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			f.t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			f.t.Errorf("%s: last line is torn (no newline)", name)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var l outLine
			if err := json.Unmarshal(line, &l); err != nil {
				f.t.Errorf("%s:%d: does not parse: %v", name, i+1, err)
				continue
			}
			_, a := tl.byTask[l.TaskID]
			_, d := tl.deadBy[l.TaskID]
			if a || d {
				tl.dup++
			}
			if name == coordinator.TrajectoriesFile {
				tl.byTask[l.TaskID] = l
				tl.written++
				tl.completion += l.Tokens.Completion
				tl.wasted += l.Tokens.Wasted
			} else {
				tl.deadBy[l.TaskID] = l
				tl.dead++
			}
		}
	}
	return tl
}

// count reads the job's output (see read) and fails the test on any lost
// or duplicated task of ps × k.
func (f *fleet) count(job string, ps []problem, k int) tally {
	f.t.Helper()
	tl := f.read(job)
	tl.submitted = len(ps) * k
	for _, p := range ps {
		for s := range k {
			id := trajectory.TaskID(job, p.ID, s)
			_, a := tl.byTask[id]
			_, d := tl.deadBy[id]
			if !a && !d {
				tl.lost++
			}
		}
	}
	f.t.Logf("job %s: %s", job, tl)
	if tl.lost != 0 || tl.dup != 0 || tl.written+tl.dead != tl.submitted {
		f.t.Fatalf("exactly-once broken: %s", tl)
	}
	return tl
}

// bench prints one benchmark figure in the repository's format.
func bench(name string, value float64, unit string) {
	fmt.Printf("BENCH %s %.4g %s\n", name, value, unit)
}

// written counts the whole lines of the job's trajectories file so far.
func (f *fleet) written(job string) int {
	b, err := os.ReadFile(filepath.Join(f.dir, "jobs", job, coordinator.TrajectoriesFile))
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}
