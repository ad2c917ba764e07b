package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
)

func newServersCmd() *cobra.Command {
	var (
		cfg   cluster.NodeConfig
		peers string
		lf    logFlags
	)
	cmd := &cobra.Command{
		Use:   "servers",
		Short: "Run one node of a NATS JetStream + etcd cluster (bare metal, Slurm): one per machine, three in all",
		Long: `servers runs one NATS server with JetStream and one etcd member in one process, clustered
with the other --peers (the same list on every machine). Each peer is name=host:port: port
is its NATS client port, port+1 its NATS route port, port+2 its etcd client port and port+3
its etcd peer port. etcd waits for a quorum of peers, JetStream makes the streams (R3 on
three nodes), and then DIR/endpoints.json lists every node: coordinators and workers join
with --endpoints. A node restarted on its --data rejoins.

The servers are locked: every node must hold the same credentials folder (--credentials,
default DIR/credentials). Make it once with --generate-credentials on one machine and copy
it to the others before starting them. --insecure runs without credentials.`,
		Example: `  hintfleet servers --data /srv/hf --name n1 --peers n1=10.0.0.1:4222,n2=10.0.0.2:4222,n3=10.0.0.3:4222
  hintfleet worker --endpoints /srv/hf/endpoints.json --engine http://127.0.0.1:8000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log, err := lf.logger(cmd)
			if err != nil {
				return err
			}
			if cfg.Dir == "" || cfg.Name == "" || peers == "" {
				return errors.New("--data, --name and --peers are required")
			}
			if cfg.Peers, err = cluster.ParsePeers(peers); err != nil {
				return fmt.Errorf("--peers: %w", err)
			}
			cfg.Log = log
			return cluster.ServeNode(ctx, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Dir, "data", "", "data directory: this node's NATS and etcd data, endpoints.json (required)")
	fl.StringVar(&cfg.Name, "name", "", "this node's name in --peers (required)")
	fl.StringVar(&peers, "peers", "", "every node, this one included: name=host:port,… (same on every node; required)")
	fl.StringVar(&cfg.Bind, "bind", "", "address to listen on (default: this node's host in --peers; 0.0.0.0 for every interface)")
	fl.StringVar(&cfg.CredentialsDir, "credentials", "", "folder of the cluster's passwords, identical on every node (default: DATA/credentials)")
	fl.BoolVar(&cfg.GenerateCredentials, "generate-credentials", false, "make the missing passwords in --credentials (once, on one node; then copy the folder to the others)")
	fl.BoolVar(&cfg.Insecure, "insecure", false, "run without credentials (development only)")
	fl.StringVar(&cfg.TLS.Cert, "tls-cert", "", "serve NATS and etcd over TLS with this certificate (also presented to the other nodes)")
	fl.StringVar(&cfg.TLS.Key, "tls-key", "", "key of --tls-cert")
	fl.StringVar(&cfg.TLS.CA, "tls-ca", "", "CA of the nodes' and clients' certificates: routes, etcd peers and etcd clients are then verified")
	lf.register(cmd)
	return cmd
}
