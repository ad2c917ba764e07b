package main

import (
	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/fleet"
	"github.com/hintfleet/hintfleet/worker"
)

// registerReplica binds the coordinator's knobs, shared by up and
// coordinator, to r.
func registerReplica(cmd *cobra.Command, r *fleet.Replica) {
	fl, c := cmd.Flags(), &r.Config
	fl.StringVar(&r.Listen, "listen", cluster.DefaultListen, "HTTP API address (port 0 picks one)")
	fl.StringVar(&c.Advertise, "advertise", "", "this replica's API URL as others reach it (default: from --listen)")
	fl.StringVar(&c.DatasetsDir, "datasets-dir", "", "folder of the named datasets jobs may use (default: $HINTFLEET_DATASETS, else the copies in the binary)")
	fl.DurationVar(&c.ElectionTTL, "election-ttl", coordinator.DefaultElectionTTL, "leader lease: a dead leader is replaced after about this long")
	fl.IntVar(&c.MaxAttempts, "max-attempts", 0, "attempts per task before it is dead-lettered (0: the scheduler's default)")
	fl.IntVar(&c.MaxOutstanding, "max-outstanding", 0, "dispatched, unfinished tasks over all jobs (0: twice the live workers' registered capacity, at least 8192)")
	registerAuth(cmd, &r.Security, c)
	fl.BoolVar(&c.Affinity, "affinity", false, "send the k samples of a problem preferentially to one worker, so its engine's prefix cache serves them (yields to load and liveness); off by default until the chaos suite covers it across server restarts")
}

// registerWorkers binds what a worker runs on (engines, model, GPUs,
// plugins) and how (concurrency, lease, drain) to w. Shared by up and
// worker.
func registerWorkers(cmd *cobra.Command, w *fleet.Workers) {
	fl, n, c := cmd.Flags(), &w.Node, &w.Config
	fl.StringSliceVar(&n.Engines, "engine", nil, "engine base URL (OpenAI-compatible completions); repeatable")
	fl.StringVar(&n.Model, "model", "", "model name (default: the engine's first model); also picks the worker pool")
	fl.StringVar(&w.APIKey, "api-key", "", "engine API key (default: $HINTFLEET_ENGINE_API_KEY; never shown in help or logs)")
	fl.IntVar(&c.Concurrency, "concurrency", worker.DefaultConcurrency, "trajectories at once per engine")
	fl.DurationVar(&c.LeaseTTL, "lease-ttl", cluster.DefaultLeaseTTL, "worker lease: a dead worker's tasks run again about this long after it dies")
	fl.DurationVar(&c.CheckpointEvery, "checkpoint-every", worker.DefaultCheckpointEvery, "longest stretch of generation without a checkpoint")
	fl.DurationVar(&c.DrainTimeout, "drain-timeout", worker.DefaultDrainTimeout, "on SIGTERM, how long in-flight tasks may finish before they are checkpointed and handed back")
	fl.BoolVar(&w.NoTools, "no-tools", false, "run no tool plugins (code fences stay text)")
	registerPluginSource(cmd, &w.Plugins)
	fl.BoolVar(&c.Adaptive, "adaptive", false, "set each engine's concurrency adaptively from its queue, KV cache and time to first token (--concurrency is then the upper bound)")
	fl.IntVar(&n.SimulateGPUs, "simulate-gpus", 0, "simulate N GPUs that follow the engines' load, for machines without one (0: read the real GPUs through NVML, if any)")
	fl.BoolVar(&n.RequireGPU, "require-gpu", false, "exit with an error when no NVIDIA driver or no GPU is found, instead of running without GPU telemetry and health")
	fl.StringArrayVar(&n.EngineGPUs, "engine-gpus", nil, "the GPUs the matching --engine runs on, as CUDA_VISIBLE_DEVICES lists them (\"0,1\", GPU-… or MIG-… UUIDs); repeat once per --engine, in order. A GPU fault drains only the engines on it. Default: $CUDA_VISIBLE_DEVICES for every engine when set, else every GPU")
	fl.StringVar(&c.Hostname, "hostname", "", "Hostname label of the GPU series (default: $NODE_NAME, else the host name; in Kubernetes the node name)")
	fl.StringVar(&c.MetricsAddr, "metrics-listen", "", "serve the worker's /metrics (fleet and DCGM series) and /healthz here; with several local workers, port 0 is used for each")
}

func newUpCmd() *cobra.Command {
	var (
		up = fleet.UpConfig{Workers: 1, Coordinator: true}
		lf logFlags
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
			if _, err := lf.logger(cmd); err != nil {
				return err
			}
			up.Logger, up.Worker.PluginLogger = lf.log, warnLogger(cmd)
			return fleet.Up(cmd.Context(), up)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&up.Data, "data", "", "data directory: cluster state, job files, endpoints.json (required)")
	fl.IntVar(&up.Workers, "workers", up.Workers, "local workers to run (0: servers and coordinator only)")
	fl.BoolVar(&up.Coordinator, "coordinator", up.Coordinator, "run a coordinator replica here (false: servers and workers only)")
	fl.StringVar(&up.Cluster.NATSTokenFile, "nats-token-file", "", "require this token (read from the file) from NATS clients, instead of the per-role users up generates")
	fl.StringVar(&up.Cluster.TLS.Cert, "tls-cert", "", "serve NATS and etcd over TLS with this certificate")
	fl.StringVar(&up.Cluster.TLS.Key, "tls-key", "", "key of --tls-cert")
	fl.StringVar(&up.Cluster.TLS.CA, "tls-ca", "", "CA of the clients' certificates: etcd then requires one (mutual TLS); written to endpoints.json for clients")
	registerReplica(cmd, &up.Replica)
	registerWorkers(cmd, &up.Worker)
	lf.register(cmd)
	return cmd
}

func newCoordinatorCmd() *cobra.Command {
	var (
		cl clusterFlags
		r  fleet.Replica
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
			if _, err := lf.logger(cmd); err != nil {
				return err
			}
			return fleet.RunReplica(cmd.Context(), cl.a, r, lf.log)
		},
	}
	cl.register(cmd)
	registerReplica(cmd, &r)
	lf.register(cmd)
	return cmd
}

func newWorkerCmd() *cobra.Command {
	var (
		cl clusterFlags
		w  fleet.Workers
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
			if _, err := lf.logger(cmd); err != nil {
				return err
			}
			w.PluginLogger = warnLogger(cmd)
			return fleet.RunWorker(cmd.Context(), cl.a, w, lf.log)
		},
	}
	cmd.Flags().StringVar(&w.Config.ID, "id", "", "worker id, unique in the fleet (default: host name and pid)")
	cl.register(cmd)
	registerWorkers(cmd, &w)
	lf.register(cmd)
	return cmd
}
