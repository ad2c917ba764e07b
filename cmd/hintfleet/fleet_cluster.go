package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
)

// defaultAPI is where commands look for the coordinator when neither --api
// nor --data says otherwise; it is also `up`'s default --listen.
const (
	defaultListen = "127.0.0.1:8700"
	defaultAPI    = "http://" + defaultListen
)

// envAPI names the coordinator's URL when no flag does.
const envAPI = "HINTFLEET_API"

// clusterFlags bind the flags that say how to reach NATS and etcd to a
// cluster.Access, which resolves them (with the endpoints file and the
// environment) into a cluster.Config.
type clusterFlags struct{ a cluster.Access }

func (f *clusterFlags) register(cmd *cobra.Command) {
	fl, a := cmd.Flags(), &f.a
	fl.StringVar(&a.Endpoints, "endpoints", "", "endpoints.json written by `hintfleet up` (NATS and etcd addresses)")
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
	fl.StringVar(&f.api, "api", "", "coordinator URL (default: from --data DIR/endpoints.json, else $"+envAPI+", else "+defaultAPI+")")
	fl.StringVar(&f.data, "data", "", "data directory of `hintfleet up`: the API address and token are read from its endpoints.json")
	fl.StringVar(&f.tokenFile, "api-token-file", "", "file holding the API token, or a tokens file (its highest role is used); else $"+envAPIToken+", else the file --data's endpoints.json names")
	fl.StringVar(&f.ca, "api-ca", "", "CA that verifies an https API")
	fl.StringVar(&f.cert, "api-cert", "", "client certificate presented to the API (mutual TLS)")
	fl.StringVar(&f.key, "api-cert-key", "", "key of --api-cert")
}

// resolve finds the coordinator's URL and the token to send.
func (f *apiFlags) resolve() (url, token string, err error) {
	var ep cluster.Endpoints
	if f.data != "" {
		if ep, err = cluster.ReadEndpoints(cluster.EndpointsPath(f.data)); err != nil {
			return "", "", fmt.Errorf("--data: %w (is `hintfleet up --data %s` running?)", err, f.data)
		}
	}
	switch {
	case f.api != "":
		url = f.api
	case f.data != "" && ep.API == "":
		return "", "", fmt.Errorf("--data: %s names no API (up ran with --coordinator=false); pass --api", cluster.EndpointsPath(f.data))
	case f.data != "":
		url = ep.API
	case os.Getenv(envAPI) != "":
		url = os.Getenv(envAPI)
	default:
		url = defaultAPI
	}
	if token, err = clientToken(f.tokenFile, ep.APITokenFile); err != nil {
		return "", "", err
	}
	return url, token, nil
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
