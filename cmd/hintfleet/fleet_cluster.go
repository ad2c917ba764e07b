package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
)

// How every command that talks to the fleet finds it (cluster.Find): the
// same flags with the same help everywhere.
const (
	dataHelp      = "data directory of `hintfleet up`: the fleet is found through its endpoints.json (else --endpoints, --api, $" + cluster.EnvData + ", $" + cluster.EnvAPI + ")"
	endpointsHelp = "endpoints.json written by `hintfleet up` (or its folder): NATS, etcd and API addresses and the credential files"
	apiHelp       = "coordinator URL (default: the api of --data's or --endpoints' endpoints.json, else $" + cluster.EnvData + "'s, else $" + cluster.EnvAPI + ", else " + cluster.DefaultAPI + ")"
)

// clusterFlags bind the flags that say how to reach NATS and etcd to a
// cluster.Access, which resolves them (with the endpoints file and the
// environment) into a cluster.Config.
type clusterFlags struct{ a cluster.Access }

func (f *clusterFlags) register(cmd *cobra.Command) {
	fl, a := cmd.Flags(), &f.a
	fl.StringVar(&a.Data, "data", "", dataHelp)
	fl.StringVar(&a.Endpoints, "endpoints", "", endpointsHelp)
	fl.StringSliceVar(&a.NATS, "nats", nil, "NATS URL; repeatable")
	fl.StringSliceVar(&a.Etcd, "etcd", nil, "etcd endpoint URL; repeatable")
	fl.StringVar(&a.NATSTokenFile, "nats-token-file", "", "file holding the NATS token (else $"+cluster.EnvNATSToken+")")
	fl.StringVar(&a.NATSCreds, "nats-creds", "", "NATS credentials file (JWT + nkey)")
	fl.StringVar(&a.NATSUser, "nats-user", "", "NATS user; password from --nats-password-file or $"+cluster.EnvNATSPassword)
	fl.StringVar(&a.NATSPasswordFile, "nats-password-file", "", "file holding the NATS password")
	fl.StringVar(&a.TLS.CA, "tls-ca", "", "CA bundle that verifies the NATS and etcd servers")
	fl.StringVar(&a.TLS.Cert, "tls-cert", "", "client certificate for NATS and etcd (mutual TLS)")
	fl.StringVar(&a.TLS.Key, "tls-key", "", "client key for --tls-cert")
	fl.StringVar(&a.EtcdUser, "etcd-user", "", "etcd user; password from --etcd-password-file or $"+cluster.EnvEtcdPassword)
	fl.StringVar(&a.EtcdPasswordFile, "etcd-password-file", "", "file holding the etcd password")
}

func (f *clusterFlags) config() (cluster.Config, error) { return f.a.Config() }

// apiFlags say which coordinator a command talks to, with what
// credential, and how it prints.
type apiFlags struct {
	api       string
	data      string
	endpoints string
	tokenFile string
	ca        string
	cert      string
	key       string
	jsonOut   bool
}

func (f *apiFlags) register(cmd *cobra.Command) {
	f.registerConn(cmd)
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// registerConn registers the flags that reach the API, without --json.
func (f *apiFlags) registerConn(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", dataHelp)
	fl.StringVar(&f.endpoints, "endpoints", "", endpointsHelp)
	fl.StringVar(&f.api, "api", "", apiHelp)
	fl.StringVar(&f.tokenFile, "api-token-file", "", "file holding the API token, or a tokens file (its highest role is used); else $"+envAPIToken+", else the file --data's endpoints.json names")
	fl.StringVar(&f.ca, "api-ca", "", "CA that verifies an https API")
	fl.StringVar(&f.cert, "api-cert", "", "client certificate presented to the API (mutual TLS)")
	fl.StringVar(&f.key, "api-cert-key", "", "key of --api-cert")
}

// resolve finds the coordinator (cluster.Find) and the token to send.
func (f *apiFlags) resolve() (cluster.Fleet, string, error) {
	fl, err := cluster.Find(cluster.Where{Data: f.data, Endpoints: f.endpoints, API: f.api}, cluster.NeedAPI)
	if err != nil {
		return fl, "", err
	}
	token, err := clientToken(f.tokenFile, fl.Endpoints.APITokenFile)
	return fl, token, err
}

// logFlags pick the level of the structured log on stderr.
type logFlags struct{ level string }

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
}

func (f *logFlags) logger(cmd *cobra.Command) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(f.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", f.level, err)
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lv})), nil
}
