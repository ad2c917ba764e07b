package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

// coordFlags are the coordinator's knobs shared by up and coordinator.
type coordFlags struct {
	listen, advertise string
	datasetsDir       string
	electionTTL       time.Duration
	maxAttempts       int
	maxOutstanding    int
	affinity          bool
	auth              authFlags
	// defaultTokens is the API tokens file used when the flags and the
	// environment name none: up's generated one, or endpoints.json's.
	defaultTokens string
}

func (f *coordFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", cluster.DefaultListen, "HTTP API address (port 0 picks one)")
	fl.StringVar(&f.advertise, "advertise", "", "this replica's API URL as others reach it (default: from --listen)")
	fl.StringVar(&f.datasetsDir, "datasets-dir", "", "folder of the named datasets jobs may use (default: $HINTFLEET_DATASETS, else the copies in the binary)")
	fl.DurationVar(&f.electionTTL, "election-ttl", coordinator.DefaultElectionTTL, "leader lease: a dead leader is replaced after about this long")
	fl.IntVar(&f.maxAttempts, "max-attempts", 0, "attempts per task before it is dead-lettered (0: the scheduler's default)")
	fl.IntVar(&f.maxOutstanding, "max-outstanding", 0, "dispatched, unfinished tasks over all jobs (0: the default)")
	f.auth.register(cmd)
	fl.BoolVar(&f.affinity, "affinity", false, "send the k samples of a problem preferentially to one worker, so its engine's prefix cache serves them (yields to load and liveness); off by default until the chaos suite covers it across server restarts")
}

// start listens on --listen and returns a replica advertising the bound
// address, so that port 0 works and standbys name a reachable leader.
func (f *coordFlags) start(conn *cluster.Conn, dataDir string, log *slog.Logger) (*coordinator.Coordinator, net.Listener, error) {
	opts, err := f.auth.options(f.defaultTokens)
	if err != nil {
		return nil, nil, err
	}
	origin, err := trajectory.DatasetsOrigin(f.datasetsDir)
	if err != nil {
		return nil, nil, fmt.Errorf("--datasets-dir: %w", err)
	}
	log.Info("named datasets", "from", origin)
	if f.auth.insecure {
		log.Warn("INSECURE: the API serves anyone without credentials (--insecure)")
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	adv := f.advertise
	if adv == "" {
		adv = apiURL(ln.Addr(), f.auth.tlsCert != "")
	}
	c, err := coordinator.New(conn, coordinator.Config{
		DataDir: dataDir, Advertise: adv, DatasetsDir: f.datasetsDir,
		ElectionTTL: f.electionTTL, MaxAttempts: f.maxAttempts, MaxOutstanding: f.maxOutstanding,
		Affinity: f.affinity, ProblemsDir: f.auth.problemsDir, MaxBodyBytes: f.auth.maxBody,
		MaxTasksPerJob: f.auth.maxTasks,
	}, append(opts, coordinator.WithLogger(log.With("component", "coordinator")))...)
	if err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	return c, ln, nil
}

// apiURL is the API's URL as others reach it (coordinator.AdvertiseURL),
// https when it is served over TLS.
func apiURL(a net.Addr, tls bool) string {
	u := coordinator.AdvertiseURL(a)
	if tls {
		u = "https://" + strings.TrimPrefix(u, "http://")
	}
	return u
}

// workerFlags say what a worker runs on: engines, model, concurrency, lease
// and plugins. Shared by up (N local workers) and worker.
type workerFlags struct {
	engines         []string
	model           string
	apiKey          string
	concurrency     int
	leaseTTL        time.Duration
	checkpointEvery time.Duration
	drainTimeout    time.Duration
	noTools         bool
	plf             pluginFlags
	adaptive        bool
	simulateGPUs    int
	requireGPU      bool
	engineGPUs      []string
	hostname        string
	metricsListen   string
}

func (f *workerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.engines, "engine", nil, "engine base URL (OpenAI-compatible completions); repeatable")
	fl.StringVar(&f.model, "model", "", "model name (default: the engine's first model); also picks the worker pool")
	fl.StringVar(&f.apiKey, "api-key", "", "engine API key (default: $HINTFLEET_ENGINE_API_KEY; never shown in help or logs)")
	fl.IntVar(&f.concurrency, "concurrency", worker.DefaultConcurrency, "trajectories at once per engine")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", cluster.DefaultLeaseTTL, "worker lease: a dead worker's tasks run again about this long after it dies")
	fl.DurationVar(&f.checkpointEvery, "checkpoint-every", worker.DefaultCheckpointEvery, "longest stretch of generation without a checkpoint")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", worker.DefaultDrainTimeout, "on SIGTERM, how long in-flight tasks may finish before they are checkpointed and handed back")
	fl.BoolVar(&f.noTools, "no-tools", false, "run no tool plugins (code fences stay text)")
	fl.StringVar(&f.plf.dir, "plugins-dir", "", "directory of tool plugins with SHA256SUMS (default: plugins/ beside the binary, else ../lib/hintfleet/plugins from it, else ./bin/plugins)")
	fl.StringVar(&f.plf.config, "plugins-config", "", "plugin list file; overrides --plugins-dir")
	fl.BoolVar(&f.plf.insecureSkip, "insecure-skip-checksum", false, "run plugins without checking their SHA-256 (development only)")
	fl.BoolVar(&f.adaptive, "adaptive", false, "set each engine's concurrency adaptively from its queue, KV cache and time to first token (--concurrency is then the upper bound)")
	fl.IntVar(&f.simulateGPUs, "simulate-gpus", 0, "simulate N GPUs that follow the engines' load, for machines without one (0: read the real GPUs through NVML, if any)")
	fl.BoolVar(&f.requireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or no GPU is found, instead of running without GPU telemetry and health")
	fl.StringArrayVar(&f.engineGPUs, "engine-gpus", nil, "the GPUs the matching --engine runs on, as CUDA_VISIBLE_DEVICES lists them (\"0,1\", GPU-… or MIG-… UUIDs); repeat once per --engine, in order. A GPU fault drains only the engines on it. Default: $CUDA_VISIBLE_DEVICES for every engine when set, else every GPU")
	fl.StringVar(&f.hostname, "hostname", "", "Hostname label of the GPU series (default: $NODE_NAME, else the host name; in Kubernetes the node name)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve the worker's /metrics (fleet and DCGM series) and /healthz here; with several local workers, port 0 is used for each")
}

// workerKit is what workers of one process share: engines, tools and the
// model they serve. close releases the plugins.
type workerKit struct {
	engines []worker.Engine
	model   string
	tools   hint.Tool
	gpus    gpu.Backend
	load    *worker.EngineLoad
	// engineGPUs are the device lists of the engines, by position.
	engineGPUs [][]string
	close      func()
}

// gpuLists reads --engine-gpus (one list per --engine) or, without it,
// $CUDA_VISIBLE_DEVICES for every engine: the worker started with the
// engine's own setting (a shared systemd EnvironmentFile, say).
func (f *workerFlags) gpuLists() ([][]string, error) {
	lists, err := gpu.EngineDeviceLists(f.engineGPUs, len(f.engines), os.Getenv("CUDA_VISIBLE_DEVICES"))
	if err != nil {
		return nil, fmt.Errorf("--engine-gpus: %w", err)
	}
	return lists, nil
}

// setup dials the engines (asking each for its model when --model is not
// given), opens the GPUs and starts the tool plugins once for every local
// worker. log hears why there are no GPUs, once.
func (f *workerFlags) setup(cmd *cobra.Command, log *slog.Logger) (*workerKit, error) {
	ctx := cmd.Context()
	if len(f.engines) == 0 {
		return nil, errors.New("no --engine given")
	}
	gpus, err := f.gpuLists()
	if err != nil {
		return nil, err
	}
	clients, err := engine.DialAll(ctx, f.engines, f.model, engineOptions(f.apiKey)...)
	if err != nil {
		return nil, err
	}
	k := &workerKit{model: clients[0].Model(), close: func() {}, engineGPUs: gpus}
	for _, c := range clients {
		k.engines = append(k.engines, worker.NewEngine(c, nil))
	}
	// The GPUs: real ones through NVML when present (none otherwise, said
	// once, and nothing fails unless --require-gpu), or simulated ones
	// whose utilization and memory follow the engines' load.
	k.load = worker.NewEngineLoad()
	src, err := gpu.Open(ctx, gpu.Options{Simulate: f.simulateGPUs, Load: k.load, RequireGPU: f.requireGPU,
		Logger: log.With("component", "gpu")})
	if err != nil {
		return nil, fmt.Errorf("open gpus: %w", err)
	}
	k.gpus = src
	k.close = func() { _ = src.Close() }
	if f.noTools {
		return k, nil
	}
	specs, err := f.plf.specs()
	if err != nil {
		return nil, err
	}
	mgr, err := host.New(ctx, specs, f.plf.options(cmd.ErrOrStderr())...)
	if err != nil {
		return nil, err
	}
	k.tools = &infer.Tools{Router: mgr}
	k.close = func() { _ = mgr.Close(); _ = src.Close() }
	return k, nil
}

func (f *workerFlags) config(id string, k *workerKit) worker.Config {
	cfg := worker.Config{
		ID: id, Model: k.model, Engines: k.engines, Tools: k.tools, Concurrency: f.concurrency,
		LeaseTTL: f.leaseTTL, CheckpointEvery: f.checkpointEvery, DrainTimeout: f.drainTimeout,
		Adaptive: f.adaptive, MetricsAddr: f.metricsListen, GPU: k.gpus, GPULoad: k.load,
		EngineGPUs: k.engineGPUs, Hostname: f.hostname,
	}
	if cfg.Hostname == "" {
		cfg.Hostname = os.Getenv("NODE_NAME")
	}
	return cfg
}

// fleet is the processes' composition: workers first, then the
// coordinator and its API. On ctx's end (SIGTERM) the workers drain, and
// only then are the coordinator and API stopped, so results of the drained
// tasks are still taken in; a failure of any actor stops the others.
type fleet struct {
	workers []func(context.Context) error
	svc     []func(context.Context) error
}

func (fl *fleet) run(ctx context.Context) error {
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSvc()
	svc, sctx := errgroup.WithContext(svcCtx)
	for _, a := range fl.svc {
		svc.Go(func() error { return a(sctx) })
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	unlink := context.AfterFunc(sctx, stopWorkers) // a service failed: drain and stop
	defer unlink()
	ws, wgctx := errgroup.WithContext(wctx)
	ws.Go(func() error { <-wgctx.Done(); return nil }) // hold the group until stop
	for _, a := range fl.workers {
		ws.Go(func() error { return a(wgctx) })
	}
	werr := ws.Wait()
	stopSvc()
	return errors.Join(werr, svc.Wait())
}

func newUpCmd() *cobra.Command {
	var (
		data          string
		workers       int
		withCoord     bool
		natsTokenFile string
		serverTLS     cluster.TLSFiles
		cf            coordFlags
		wf            workerFlags
		lf            logFlags
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole fleet in one process: embedded etcd and NATS, the coordinator and N workers",
		Long: `up starts embedded etcd and NATS JetStream (data under --data DIR/cluster, every
JetStream write fsync'd), the coordinator (job files under --data DIR/jobs) with its
HTTP API on --listen, and --workers local workers on the --engine URLs. When all of
them accept work it writes DIR/endpoints.json (API, NATS and etcd addresses), which
'hintfleet worker --endpoints' and 'hintfleet submit --data' read.

Starting again on the same DIR resumes: servers listen on the same ports, jobs
continue where they stopped. SIGTERM drains the workers (in-flight tasks finish or
are checkpointed and handed back), then stops the coordinator and the servers.`,
		Example: "  hintfleet up --data /tmp/fleet --workers 2 --engine http://127.0.0.1:8000",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log, err := lf.logger(cmd)
			if err != nil {
				return err
			}
			if data == "" {
				return errors.New("--data DIR is required")
			}
			if workers < 0 {
				return fmt.Errorf("--workers %d: want >= 0", workers)
			}
			if data, err = filepath.Abs(data); err != nil {
				return fmt.Errorf("--data: %w", err)
			}
			if err := os.MkdirAll(data, dataDirMode); err != nil {
				return fmt.Errorf("--data: %w", err)
			}
			// Own DATA before touching anything in it: a second up exits
			// here instead of hanging on etcd's database and removing the
			// running fleet's endpoints.json.
			lock, err := cluster.LockData(data)
			if err != nil {
				return err
			}
			defer lock.Close()
			if err := cluster.RemoveEndpoints(data); err != nil {
				return err
			}
			var kit *workerKit
			if workers > 0 {
				if kit, err = wf.setup(cmd, log); err != nil {
					return err
				}
				defer kit.close()
			}
			eopts := []cluster.EmbeddedOption{cluster.WithEmbeddedLogger(log.With("component", "cluster"))}
			var credFiles *cluster.CredentialFiles
			switch {
			case cf.auth.insecure:
				log.Warn("INSECURE: NATS, etcd and the API accept anyone (--insecure)")
			case natsTokenFile == "":
				// Locked by default: a NATS user per role and etcd's root,
				// passwords generated once under DATA, 0600.
				files, creds, err := cluster.EnsureCredentials(data)
				if err != nil {
					return err
				}
				credFiles = &files
				eopts = append(eopts, cluster.WithCredentials(creds))
			}
			if natsTokenFile != "" {
				tok, err := cluster.ReadSecret(natsTokenFile)
				if err != nil {
					return fmt.Errorf("--nats-token-file: %w", err)
				}
				eopts = append(eopts, cluster.WithNATSToken(tok))
			}
			if serverTLS.Cert != "" || serverTLS.Key != "" {
				// Both servers speak TLS; with a CA, etcd also wants client
				// certificates (workers joining from elsewhere pass --tls-cert).
				eopts = append(eopts, cluster.WithNATSTLS(serverTLS), cluster.WithEtcdTLS(serverTLS))
			}
			node, err := cluster.StartLocal(ctx, filepath.Join(data, "cluster"), eopts...)
			if err != nil {
				return err
			}
			defer node.Close()
			conn := node.Conn
			if err := lock.SetEtcdCluster(ctx, conn.Etcd); err != nil {
				return err
			}
			ep := node.Endpoints()
			ep.NATSTokenFile, ep.Data, ep.PID = natsTokenFile, data, os.Getpid()
			ep.Credentials = credFiles
			if natsTokenFile != "" {
				if ep.NATSTokenFile, err = filepath.Abs(natsTokenFile); err != nil {
					return fmt.Errorf("--nats-token-file: %w", err)
				}
			}
			if serverTLS.CA != "" {
				if ep.TLSCA, err = filepath.Abs(serverTLS.CA); err != nil {
					return fmt.Errorf("--tls-ca: %w", err)
				}
			}
			if !cf.auth.insecure {
				// The API's admin token, generated once per DATA; every CLI
				// command finds it through endpoints.json.
				if ep.APITokenFile, err = ensureAPITokens(data); err != nil {
					return err
				}
				cf.defaultTokens = ep.APITokenFile
			}
			var fl fleet
			if withCoord {
				c, ln, err := cf.start(conn, data, log)
				if err != nil {
					return err
				}
				ep.API = apiURL(ln.Addr(), cf.auth.tlsCert != "")
				fl.svc = append(fl.svc, c.Run, func(ctx context.Context) error { return c.Serve(ctx, ln) })
			}
			if kit != nil {
				ep.Model = kit.model
				host, _ := os.Hostname()
				for i := range workers {
					cfg := wf.config(fmt.Sprintf("%s-%d", host, i+1), kit)
					if i > 0 && cfg.MetricsAddr != "" {
						// One address serves one worker: the others pick free ports
						// on the same host and advertise them in their registration.
						if h, _, err := net.SplitHostPort(cfg.MetricsAddr); err == nil {
							cfg.MetricsAddr = net.JoinHostPort(h, "0")
						}
					}
					fl.workers = append(fl.workers, func(ctx context.Context) error {
						return worker.Run(ctx, conn, cfg, worker.WithLogger(log.With("component", "worker")))
					})
				}
			}
			if err := cluster.WriteEndpoints(data, ep); err != nil {
				return err
			}
			defer cluster.RemoveEndpoints(data) //nolint:errcheck // best effort on the way out
			log.Info("fleet up", "api", ep.API, "nats", ep.NATS, "etcd", ep.Etcd, "workers", workers, "model", ep.Model, "endpoints", cluster.EndpointsPath(data))
			err = fl.run(ctx)
			log.Info("fleet down", "err", err)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&data, "data", "", "data directory: cluster state, job files, endpoints.json (required)")
	fl.IntVar(&workers, "workers", 1, "local workers to run (0: servers and coordinator only)")
	fl.BoolVar(&withCoord, "coordinator", true, "run a coordinator replica here (false: servers and workers only)")
	fl.StringVar(&natsTokenFile, "nats-token-file", "", "require this token (read from the file) from NATS clients, instead of the per-role users up generates")
	fl.StringVar(&serverTLS.Cert, "tls-cert", "", "serve NATS and etcd over TLS with this certificate")
	fl.StringVar(&serverTLS.Key, "tls-key", "", "key of --tls-cert")
	fl.StringVar(&serverTLS.CA, "tls-ca", "", "CA of the clients' certificates: etcd then requires one (mutual TLS); written to endpoints.json for clients")
	cf.register(cmd)
	wf.register(cmd)
	lf.register(cmd)
	return cmd
}

func newCoordinatorCmd() *cobra.Command {
	var (
		cl clusterFlags
		cf coordFlags
		lf logFlags
	)
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run one coordinator replica against NATS and etcd (one leads, the others stand by)",
		Long: `coordinator campaigns for leadership through etcd; the leader dispatches tasks, takes
in results and writes job files under --data DIR/jobs. Every replica serves the HTTP
API; a write that reaches a standby is answered 503 with the leader's address. All
replicas must share --data (a shared volume in a cluster, one folder on one node).`,
		Example: "  hintfleet coordinator --data /tmp/fleet --listen 127.0.0.1:8701\n" +
			"  hintfleet coordinator --data /shared/fleet --nats nats://n1:4222 --etcd https://e1:2379",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log, err := lf.logger(cmd)
			if err != nil {
				return err
			}
			data := cl.a.Data
			if data == "" {
				data = os.Getenv(cluster.EnvData)
			}
			if data == "" {
				return errors.New("--data DIR is required (the job files' folder, shared by every replica; else $" + cluster.EnvData + ")")
			}
			cl.a.Role = cluster.NATSCoordinatorUser
			ccfg, found, err := cl.a.Resolve()
			if err != nil {
				return err
			}
			cf.defaultTokens = found.Endpoints.APITokenFile
			conn, err := cluster.Connect(ctx, ccfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			// Replicas of this fleet share DATA; a process of another fleet
			// owning it (another up, say) is an error before anything is
			// written there.
			lock, err := cluster.JoinData(ctx, data, conn.Etcd)
			if err != nil {
				return err
			}
			defer lock.Close()
			c, ln, err := cf.start(conn, data, log)
			if err != nil {
				return err
			}
			log.Info("coordinator replica up", "api", apiURL(ln.Addr(), cf.auth.tlsCert != ""))
			fl := fleet{svc: []func(context.Context) error{
				c.Run, func(ctx context.Context) error { return c.Serve(ctx, ln) },
			}}
			return fl.run(ctx)
		},
	}
	cl.register(cmd)
	cf.register(cmd)
	lf.register(cmd)
	return cmd
}

func newWorkerCmd() *cobra.Command {
	var (
		id string
		cl clusterFlags
		wf workerFlags
		lf logFlags
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run one worker beside its engines: pull tasks, run Hint-infer, report trajectories",
		Long: `worker registers under an etcd lease, pulls tasks of its model's pool from JetStream,
claims each in etcd, runs Hint-infer against the --engine URLs with the tool plugins,
checkpoints partial trajectories and publishes results. SIGTERM drains: no new pulls,
in-flight tasks finish within --drain-timeout or are checkpointed and handed back.`,
		Example: "  hintfleet worker --data /tmp/fleet --engine http://127.0.0.1:8000 --concurrency 16",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log, err := lf.logger(cmd)
			if err != nil {
				return err
			}
			cl.a.Role = cluster.NATSWorkerUser
			ccfg, err := cl.config()
			if err != nil {
				return err
			}
			kit, err := wf.setup(cmd, log)
			if err != nil {
				return err
			}
			defer kit.close()
			conn, err := cluster.Connect(ctx, ccfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			if id == "" {
				host, _ := os.Hostname()
				id = host + "-" + strconv.Itoa(os.Getpid())
			}
			cfg := wf.config(id, kit)
			log.Info("worker up", "worker", id, "model", kit.model, "engines", redactURLs(wf.engines), "concurrency", wf.concurrency)
			return worker.Run(ctx, conn, cfg, worker.WithLogger(log))
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "worker id, unique in the fleet (default: host name and pid)")
	cl.register(cmd)
	wf.register(cmd)
	lf.register(cmd)
	return cmd
}

// redactURLs is urls with passwords masked, for logs.
func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = engine.RedactURL(u)
	}
	return out
}
