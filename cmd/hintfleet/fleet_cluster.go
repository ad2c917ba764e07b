package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
)

// How every command that talks to the fleet finds it (cluster.Find): the
// same flags with the same help everywhere.
const (
	dataHelp      = "data directory of hintfleet up: the fleet is found through its endpoints.json (else --endpoints, --api, $" + cluster.EnvData + ", $" + cluster.EnvAPI + ")"
	endpointsHelp = "endpoints.json written by hintfleet up (or its folder): NATS, etcd and API addresses and the credential files"
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

// apiFlags say which coordinator a command talks to, with what
// credential (coordinator.ClientConfig), and how it prints.
type apiFlags struct {
	c       coordinator.ClientConfig
	jsonOut bool
}

func (f *apiFlags) register(cmd *cobra.Command) {
	fl, c := cmd.Flags(), &f.c
	fl.StringVar(&c.Data, "data", "", dataHelp)
	fl.StringVar(&c.Endpoints, "endpoints", "", endpointsHelp)
	fl.StringVar(&c.API, "api", "", apiHelp)
	fl.StringVar(&c.TokenFile, "api-token-file", "", "file holding the API token, or a tokens file (its highest role is used); else $"+coordinator.EnvAPIToken+", else the file --data's endpoints.json names")
	fl.StringVar(&c.CA, "api-ca", "", "CA that verifies an https API")
	fl.StringVar(&c.Cert, "api-cert", "", "client certificate presented to the API (mutual TLS)")
	fl.StringVar(&c.Key, "api-cert-key", "", "key of --api-cert")
	fl.BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// logFlags pick the level of the structured log on stderr; logger makes
// it, and keeps it as log.
type logFlags struct {
	level string
	log   *slog.Logger
}

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
}

func (f *logFlags) logger(cmd *cobra.Command) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(f.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", f.level, err)
	}
	f.log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lv, ReplaceAttr: dropNil}))
	return f.log, nil
}

// dropNil leaves out attributes whose value is nil (an `err` or `cause`
// that is no error), so that no log line says err=<nil>.
func dropNil(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
		return slog.Attr{}
	}
	return a
}

// warnLogger logs warnings and errors on stderr: what plugins say.
func warnLogger(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
