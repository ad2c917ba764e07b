package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/worker"
)

// coordFlags are the coordinator's knobs shared by up and coordinator.
type coordFlags struct {
	listen string
	cfg    coordinator.Config
	sec    coordinator.Security
}

func (f *coordFlags) register(cmd *cobra.Command) {
	fl, c := cmd.Flags(), &f.cfg
	fl.StringVar(&f.listen, "listen", cluster.DefaultListen, "HTTP API address (port 0 picks one)")
	fl.StringVar(&c.Advertise, "advertise", "", "this replica's API URL as others reach it (default: from --listen)")
	fl.StringVar(&c.DatasetsDir, "datasets-dir", "", "folder of the named datasets jobs may use (default: $HINTFLEET_DATASETS, else the copies in the binary)")
	fl.DurationVar(&c.ElectionTTL, "election-ttl", coordinator.DefaultElectionTTL, "leader lease: a dead leader is replaced after about this long")
	fl.IntVar(&c.MaxAttempts, "max-attempts", 0, "attempts per task before it is dead-lettered (0: the scheduler's default)")
	fl.IntVar(&c.MaxOutstanding, "max-outstanding", 0, "dispatched, unfinished tasks over all jobs (0: twice the live workers' registered capacity, at least 8192)")
	registerAuth(cmd, &f.sec, c)
	fl.BoolVar(&c.Affinity, "affinity", false, "send the k samples of a problem preferentially to one worker, so its engine's prefix cache serves them (yields to load and liveness); off by default until the chaos suite covers it across server restarts")
}

// listen starts a replica on --listen with its data in dataDir.
func (f *coordFlags) start(conn *cluster.Conn, dataDir string, lf *logFlags) (*coordinator.Server, error) {
	cfg := f.cfg
	cfg.DataDir = dataDir
	return coordinator.Listen(conn, f.listen, cfg, f.sec, lf.log, coordinator.WithLogger(lf.log.With("component", "coordinator")))
}

// workerFlags say what a worker runs on (engines, model, GPUs, plugins)
// and how (concurrency, lease, drain). Shared by up and worker.
type workerFlags struct {
	node    worker.NodeConfig
	apiKey  string
	noTools bool
	plugins pluginSourceFlags
	cfg     worker.Config
}

func (f *workerFlags) register(cmd *cobra.Command) {
	fl, n, c := cmd.Flags(), &f.node, &f.cfg
	fl.StringSliceVar(&n.Engines, "engine", nil, "engine base URL (OpenAI-compatible completions); repeatable")
	fl.StringVar(&n.Model, "model", "", "model name (default: the engine's first model); also picks the worker pool")
	fl.StringVar(&f.apiKey, "api-key", "", "engine API key (default: $HINTFLEET_ENGINE_API_KEY; never shown in help or logs)")
	fl.IntVar(&c.Concurrency, "concurrency", worker.DefaultConcurrency, "trajectories at once per engine")
	fl.DurationVar(&c.LeaseTTL, "lease-ttl", cluster.DefaultLeaseTTL, "worker lease: a dead worker's tasks run again about this long after it dies")
	fl.DurationVar(&c.CheckpointEvery, "checkpoint-every", worker.DefaultCheckpointEvery, "longest stretch of generation without a checkpoint")
	fl.DurationVar(&c.DrainTimeout, "drain-timeout", worker.DefaultDrainTimeout, "on SIGTERM, how long in-flight tasks may finish before they are checkpointed and handed back")
	fl.BoolVar(&f.noTools, "no-tools", false, "run no tool plugins (code fences stay text)")
	f.plugins.register(cmd)
	fl.BoolVar(&c.Adaptive, "adaptive", false, "set each engine's concurrency adaptively from its queue, KV cache and time to first token (--concurrency is then the upper bound)")
	fl.IntVar(&n.SimulateGPUs, "simulate-gpus", 0, "simulate N GPUs that follow the engines' load, for machines without one (0: read the real GPUs through NVML, if any)")
	fl.BoolVar(&n.RequireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or no GPU is found, instead of running without GPU telemetry and health")
	fl.StringArrayVar(&n.EngineGPUs, "engine-gpus", nil, "the GPUs the matching --engine runs on, as CUDA_VISIBLE_DEVICES lists them (\"0,1\", GPU-… or MIG-… UUIDs); repeat once per --engine, in order. A GPU fault drains only the engines on it. Default: $CUDA_VISIBLE_DEVICES for every engine when set, else every GPU")
	fl.StringVar(&c.Hostname, "hostname", "", "Hostname label of the GPU series (default: $NODE_NAME, else the host name; in Kubernetes the node name)")
	fl.StringVar(&c.MetricsAddr, "metrics-listen", "", "serve the worker's /metrics (fleet and DCGM series) and /healthz here; with several local workers, port 0 is used for each")
}

// open dials the engines, opens the GPUs and starts the plugins once for
// every local worker of this process.
func (f *workerFlags) open(cmd *cobra.Command, lf *logFlags) (*worker.Node, error) {
	n := f.node
	n.EngineOptions, n.VisibleDevices = engineOptions(f.apiKey), os.Getenv("CUDA_VISIBLE_DEVICES")
	n.Logger, n.PluginLogger = lf.log, warnLogger(cmd)
	if !f.noTools {
		n.Plugins = &f.plugins.src
	}
	if f.cfg.Hostname == "" {
		f.cfg.Hostname = os.Getenv("NODE_NAME")
	}
	return worker.OpenNode(cmd.Context(), n)
}

func newUpCmd() *cobra.Command {
	var (
		data      string
		workers   int
		withCoord bool
		uc        cluster.UpConfig
		cf        coordFlags
		wf        workerFlags
		lf        logFlags
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
			if _, err := lf.logger(cmd); err != nil {
				return err
			}
			if data == "" {
				return errors.New("--data DIR is required")
			}
			if workers < 0 {
				return fmt.Errorf("--workers %d: want >= 0", workers)
			}
			// Own DATA before touching anything in it: a second up exits
			// here instead of hanging on etcd's database and removing the
			// running fleet's endpoints.json.
			dir, err := cluster.OpenUpData(data)
			if err != nil {
				return err
			}
			defer dir.Close()
			var wnode *worker.Node
			if workers > 0 {
				if wnode, err = wf.open(cmd, &lf); err != nil {
					return err
				}
				defer wnode.Close()
			}
			uc.Insecure, uc.Logger = cf.sec.Insecure, lf.log
			node, ep, err := dir.Start(ctx, uc)
			if err != nil {
				return err
			}
			defer node.Close()
			cf.sec.DefaultTokens = ep.APITokenFile
			var services []func(context.Context) error
			if withCoord {
				srv, err := cf.start(node.Conn, ep.Data, &lf)
				if err != nil {
					return err
				}
				ep.API = srv.URL
				services = append(services, srv.Run)
			}
			var cfgs []worker.Config
			if wnode != nil {
				ep.Model = wnode.Model
				cfgs = wnode.Configs(wf.cfg, worker.LocalIDs(workers)...)
			}
			if err := cluster.WriteEndpoints(ep.Data, ep); err != nil {
				return err
			}
			defer cluster.RemoveEndpoints(ep.Data) //nolint:errcheck // best effort on the way out
			lf.log.Info("fleet up", "api", ep.API, "nats", ep.NATS, "etcd", ep.Etcd, "workers", workers, "model", ep.Model, "endpoints", cluster.EndpointsPath(ep.Data))
			err = worker.RunAll(ctx, node.Conn, cfgs, services, worker.WithLogger(lf.log.With("component", "worker")))
			lf.log.Info("fleet down", "err", err)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&data, "data", "", "data directory: cluster state, job files, endpoints.json (required)")
	fl.IntVar(&workers, "workers", 1, "local workers to run (0: servers and coordinator only)")
	fl.BoolVar(&withCoord, "coordinator", true, "run a coordinator replica here (false: servers and workers only)")
	fl.StringVar(&uc.NATSTokenFile, "nats-token-file", "", "require this token (read from the file) from NATS clients, instead of the per-role users up generates")
	fl.StringVar(&uc.TLS.Cert, "tls-cert", "", "serve NATS and etcd over TLS with this certificate")
	fl.StringVar(&uc.TLS.Key, "tls-key", "", "key of --tls-cert")
	fl.StringVar(&uc.TLS.CA, "tls-ca", "", "CA of the clients' certificates: etcd then requires one (mutual TLS); written to endpoints.json for clients")
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
			if _, err := lf.logger(cmd); err != nil {
				return err
			}
			data, err := cl.a.DataDir()
			if err != nil {
				return err
			}
			cl.a.Role = cluster.NATSCoordinatorUser
			ccfg, found, err := cl.a.Resolve()
			if err != nil {
				return err
			}
			cf.sec.DefaultTokens = found.Endpoints.APITokenFile
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
			srv, err := cf.start(conn, data, &lf)
			if err != nil {
				return err
			}
			lf.log.Info("coordinator replica up", "api", srv.URL)
			return worker.RunAll(ctx, conn, nil, []func(context.Context) error{srv.Run})
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
			if _, err := lf.logger(cmd); err != nil {
				return err
			}
			cl.a.Role = cluster.NATSWorkerUser
			ccfg, err := cl.a.Config()
			if err != nil {
				return err
			}
			node, err := wf.open(cmd, &lf)
			if err != nil {
				return err
			}
			defer node.Close()
			conn, err := cluster.Connect(ctx, ccfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			if id == "" {
				id = worker.DefaultID()
			}
			lf.log.Info("worker up", "worker", id, "model", node.Model, "engines", engine.RedactURLs(wf.node.Engines), "concurrency", wf.cfg.Concurrency)
			return worker.Run(ctx, conn, node.Configs(wf.cfg, id)[0], worker.WithLogger(lf.log))
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "worker id, unique in the fleet (default: host name and pid)")
	cl.register(cmd)
	wf.register(cmd)
	lf.register(cmd)
	return cmd
}
