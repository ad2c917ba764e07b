package scale

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
)

// The coordinator runs in a child process: this test binary, re-executed
// with coordinatorEnv set.
const (
	coordinatorEnv = "HINTFLEET_SCALE_COORDINATOR"
	dataEnv        = "HINTFLEET_SCALE_DATA"
	listenEnv      = "HINTFLEET_SCALE_LISTEN"
	outstandingEnv = "HINTFLEET_SCALE_OUTSTANDING"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(coordinatorEnv); cfg != "" {
		if err := runCoordinator(cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runCoordinator is the child: one coordinator replica, as `hintfleet
// coordinator` runs it, until SIGTERM or SIGKILL.
func runCoordinator(cfgJSON string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var cfg cluster.Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		return err
	}
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	listen := os.Getenv(listenEnv)
	outstanding, _ := strconv.Atoi(os.Getenv(outstandingEnv))
	c, err := coordinator.New(conn, coordinator.Config{DataDir: os.Getenv(dataEnv), Advertise: "http://" + listen, MaxOutstanding: outstanding})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", c.Handler())
	mux.Handle(SchedPath, SchedHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	return c.Run(ctx)
}

func coordinatorCmd(outstanding int) func(cfg []byte, dataDir, listen string) *exec.Cmd {
	return func(cfg []byte, dataDir, listen string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), coordinatorEnv+"="+string(cfg), dataEnv+"="+dataDir, listenEnv+"="+listen,
			outstandingEnv+"="+strconv.Itoa(outstanding))
		// A harness that dies (a test timeout panics past its cleanups)
		// takes the coordinator with it instead of leaving it running.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd
	}
}

// TestHarnessSmoke runs the harness small (3 workers × 4 sessions of short
// tasks) and checks that the fleet turned tasks over, the coordinator's CPU
// was read, dispatch gaps were measured and the job left no per-task keys.
func TestHarnessSmoke(t *testing.T) {
	ctx := context.Background()
	res, err := Run(ctx, Options{
		Dir: t.TempDir(), Workers: 3, Sessions: 4, Warmup: 3 * time.Second, Window: 3 * time.Second,
		Mix: []MixPart{{1, 30, 0.3}}, Coordinator: coordinatorCmd(0), NoSync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.HarnessSchedP99 <= 0 || res.CoordSchedP99 <= 0 {
		t.Fatalf("scheduling latency p99: harness %v, coordinator %v: want both read", res.HarnessSchedP99, res.CoordSchedP99)
	}
	if res.ResultsPerSec <= 0 || res.Dispatches == 0 || res.CoordinatorCores <= 0 {
		t.Fatalf("results/s %.1f, dispatches %d, coordinator cores %.3f: want all > 0", res.ResultsPerSec, res.Dispatches, res.CoordinatorCores)
	}
	if res.KeysAfterJob > 2 {
		t.Fatalf("%d keys left after the job, want its registry entry and the requeuer's revision", res.KeysAfterJob)
	}
}

// TestDriverSmoke runs the driver small (3 registered workers, 20 tasks a
// second) and checks that the coordinator took results at about that rate,
// the gaps were measured and the registrations went with the driver.
func TestDriverSmoke(t *testing.T) {
	res, err := Run(context.Background(), Options{
		Dir: t.TempDir(), Workers: 3, Sessions: 4, Rate: 20, Warmup: 3 * time.Second, Window: 4 * time.Second,
		Coordinator: coordinatorCmd(0), NoSync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.ResultsPerSec < 5 || res.Dispatches == 0 {
		t.Fatalf("results/s %.1f, dispatches %d: want about 20 a second, measured", res.ResultsPerSec, res.Dispatches)
	}
	if res.KeysAfterJob > 2 {
		t.Fatalf("%d keys left after the job (%v), want its registry entry and the requeuer's revision", res.KeysAfterJob, res.LeftKeys)
	}
}

// TestScale is `make scale`: the harness at each N of HINTFLEET_SCALE_N
// (default 10,100,1000) with 64 sessions a worker, printing a table row per
// N and the BENCH lines. It is skipped unless HINTFLEET_SCALE is set.
func TestScale(t *testing.T) {
	if os.Getenv("HINTFLEET_SCALE") == "" {
		t.Skip("set HINTFLEET_SCALE=1 (make scale)")
	}
	ns := []int{10, 100, 1000}
	if v := os.Getenv("HINTFLEET_SCALE_N"); v != "" {
		ns = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("HINTFLEET_SCALE_N: %v", err)
			}
			ns = append(ns, n)
		}
	}
	window := 60 * time.Second
	if v := os.Getenv("HINTFLEET_SCALE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("HINTFLEET_SCALE_WINDOW: %v", err)
		}
		window = d
	}
	const sessions = 64
	driver := os.Getenv("HINTFLEET_SCALE_DRIVER") != ""
	jobTasks := 0
	if v := os.Getenv("HINTFLEET_SCALE_JOB_TASKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("HINTFLEET_SCALE_JOB_TASKS=%q: want a positive number of tasks", v)
		}
		jobTasks = n
	}
	var rs []Result
	for _, n := range ns {
		o := Options{
			Dir: t.TempDir(), Workers: n, Sessions: sessions,
			Warmup: 30*time.Second + time.Duration(n)*30*time.Millisecond, Window: window,
			Coordinator: coordinatorCmd(0), // MaxOutstanding sized from the fleet
			NoSync:      os.Getenv("HINTFLEET_SCALE_SYNC") == "",
			JobTasks:    jobTasks,
		}
		if driver {
			// The task rate of n workers of 64 sessions on the GPU model.
			o.Rate = float64(n*sessions) / (meanTokens(MixedLengths) * GPUStep(sessions).Seconds())
			o.Warmup = 20 * time.Second
			fmt.Printf("# N=%d: driver at %.0f tasks/s\n", n, o.Rate)
		}
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatalf("N=%d: %v", n, err)
		}
		rs = append(rs, res)
		fmt.Println(header)
		fmt.Println(row(res))
		fmt.Println(gapHeader)
		fmt.Println(gapRow(res))
		fmt.Printf("# N=%d: dispatches %d; keys left after the job (finished: %v): %v; teardown: %v\n", n, res.Dispatches, res.JobFinished, res.LeftKeys, res.Teardown)
	}
	fmt.Println(header)
	for _, r := range rs {
		fmt.Println(row(r))
	}
	fmt.Println(gapHeader)
	for _, r := range rs {
		fmt.Println(gapRow(r))
	}
	last := rs[len(rs)-1]
	if driver {
		// The driver's figures are the coordinator's at a fleet's rate, not
		// the fleet's: BENCH lines of their own.
		for _, r := range rs {
			fmt.Printf("BENCH scale_driver_coordinator_cores_%d %.3f cores\n", r.Workers, r.CoordinatorCores)
			fmt.Printf("BENCH scale_driver_results_per_s_%d %.1f results/s\n", r.Workers, r.ResultsPerSec)
			fmt.Printf("BENCH scale_driver_dispatch_p99_ms_%d %.1f ms\n", r.Workers, ms(r.DispatchP99))
		}
		if last.JobFinished {
			// A job of HINTFLEET_SCALE_JOB_TASKS ran to done: the issue's
			// figure is what a finished job of that size leaves.
			fmt.Printf("BENCH scale_etcd_keys_after_job %d keys\n", last.KeysAfterJob)
		}
		return
	}
	fmt.Printf("BENCH scale_workers %d n\n", last.Workers)
	for _, r := range rs {
		if r.Workers == 1000 {
			fmt.Printf("BENCH scale_coordinator_cores_1000 %.3f cores\n", r.CoordinatorCores)
			fmt.Printf("BENCH scale_dispatch_p99_ms_1000 %.1f ms\n", float64(r.DispatchP99.Microseconds())/1000)
		}
	}
	fmt.Printf("BENCH scale_etcd_writes_per_task %.2f writes\n", last.EtcdWritesPerTask)
	fmt.Printf("BENCH scale_etcd_keys_after_job %d keys\n", last.KeysAfterJob)
}

const header = "| N | sessions | coord cores | coord RSS MiB | harness cores | dispatch p50 ms | p99 ms | results/s | etcd writes/s | writes/task | etcd keys | etcd DB MiB | NATS in msg/s | in MB/s | out msg/s | out MB/s | tasks done | keys after job | load1 |"

// gapHeader is the second table: what the dispatch gap is made of.
const gapHeader = "| N | harness CPU wait p50 ms | p99 ms | coordinator CPU wait p50 ms | p99 ms | pool empty | tasks ready (mean) | outstanding (mean) | pull p50 ms | p99 ms | claim p50 ms | p99 ms |"

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func row(r Result) string {
	return fmt.Sprintf("| %d | %d | %.2f | %.0f | %.2f | %.1f | %.1f | %.1f | %.0f | %.2f | %d | %.1f | %.0f | %.2f | %.0f | %.2f | %d | %d | %.1f |",
		r.Workers, r.Workers*r.Sessions, r.CoordinatorCores, r.CoordinatorRSSMiB, r.HarnessCores,
		ms(r.DispatchP50), ms(r.DispatchP99),
		r.ResultsPerSec, r.EtcdWritesPerSec, r.EtcdWritesPerTask, r.EtcdKeys, float64(r.EtcdDBBytes)/(1<<20),
		r.NATSInMsgsPerSec, r.NATSInBytesPerSec/1e6, r.NATSOutMsgsPerSec, r.NATSOutBytesPerSec/1e6, r.TasksDone, r.KeysAfterJob, r.Load1)
}

func gapRow(r Result) string {
	return fmt.Sprintf("| %d | %.2f | %.1f | %.2f | %.1f | %.0f %% | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f |",
		r.Workers, ms(r.HarnessSchedP50), ms(r.HarnessSchedP99), ms(r.CoordSchedP50), ms(r.CoordSchedP99),
		100*r.PoolEmpty, r.PoolPending, r.Outstanding, ms(r.PullP50), ms(r.PullP99), ms(r.ClaimP50), ms(r.ClaimP99))
}
