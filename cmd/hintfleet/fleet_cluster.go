package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/redact"
)

// defaultAPI is where commands look for the coordinator when neither --api
// nor --data says otherwise; it is also `up`'s default --listen.
const (
	defaultListen = "127.0.0.1:8700"
	defaultAPI    = "http://" + defaultListen
)

// Environment variables that may hold secrets. Secrets come only from files
// or the environment, never from flags, so they stay out of `ps` and shell
// history.
const (
	envNATSToken    = "HINTFLEET_NATS_TOKEN"
	envNATSPassword = "HINTFLEET_NATS_PASSWORD"
	envEtcdPassword = "HINTFLEET_ETCD_PASSWORD"
	envAPI          = "HINTFLEET_API"
)

// clusterFlags say how to reach NATS and etcd: an endpoints file, or URLs
// with TLS and auth for an external cluster. Flags given beside
// --endpoints override what the file says.
type clusterFlags struct {
	endpoints        string
	nats             []string
	etcd             []string
	natsTokenFile    string
	natsCreds        string
	natsUser         string
	natsPasswordFile string
	tlsCA            string
	tlsCert          string
	tlsKey           string
	etcdUser         string
	etcdPasswordFile string
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoints, "endpoints", "", "endpoints.json written by `hintfleet up` (NATS and etcd addresses)")
	fl.StringSliceVar(&f.nats, "nats", nil, "NATS URL; repeatable")
	fl.StringSliceVar(&f.etcd, "etcd", nil, "etcd endpoint URL; repeatable")
	fl.StringVar(&f.natsTokenFile, "nats-token-file", "", "file holding the NATS token (else $"+envNATSToken+")")
	fl.StringVar(&f.natsCreds, "nats-creds", "", "NATS credentials file (JWT + nkey)")
	fl.StringVar(&f.natsUser, "nats-user", "", "NATS user; password from --nats-password-file or $"+envNATSPassword)
	fl.StringVar(&f.natsPasswordFile, "nats-password-file", "", "file holding the NATS password")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "CA bundle that verifies the NATS and etcd servers")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "client certificate for NATS and etcd (mutual TLS)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "client key for --tls-cert")
	fl.StringVar(&f.etcdUser, "etcd-user", "", "etcd user; password from --etcd-password-file or $"+envEtcdPassword)
	fl.StringVar(&f.etcdPasswordFile, "etcd-password-file", "", "file holding the etcd password")
}

// config resolves the flags, the endpoints file and the environment into a
// validated cluster.Config. Secrets are read here and held as
// redact.Secret, which redacts itself in logs and errors.
func (f *clusterFlags) config() (cluster.Config, error) {
	var cfg cluster.Config
	tokenFile := f.natsTokenFile
	if f.endpoints != "" {
		e, err := cluster.ReadEndpoints(f.endpoints)
		if err != nil {
			return cfg, fmt.Errorf("--endpoints: %w", err)
		}
		cfg = e.Config()
		if tokenFile == "" {
			tokenFile = e.NATSTokenFile
		}
	}
	if len(f.nats) > 0 {
		cfg.NATS.URLs = f.nats
	}
	if len(f.etcd) > 0 {
		cfg.Etcd.Endpoints = f.etcd
	}
	if len(cfg.NATS.URLs) == 0 || len(cfg.Etcd.Endpoints) == 0 {
		return cfg, errors.New("say where the cluster is: --endpoints FILE, or --nats URL and --etcd URL")
	}
	tls := cluster.TLSFiles{CA: cfg.NATS.TLS.CA, Cert: f.tlsCert, Key: f.tlsKey}
	if f.tlsCA != "" {
		tls.CA = f.tlsCA
	}
	cfg.NATS.TLS, cfg.Etcd.TLS = tls, tls
	cfg.NATS.CredsFile = f.natsCreds
	var err error
	if cfg.NATS.Token, err = secret("--nats-token-file", tokenFile, envNATSToken, f.natsCreds == "" && f.natsUser == ""); err != nil {
		return cfg, err
	}
	if f.natsUser != "" {
		cfg.NATS.User = f.natsUser
		if cfg.NATS.Password, err = secret("--nats-password-file", f.natsPasswordFile, envNATSPassword, true); err != nil {
			return cfg, err
		}
	}
	if f.etcdUser != "" {
		cfg.Etcd.Username = f.etcdUser
		if cfg.Etcd.Password, err = secret("--etcd-password-file", f.etcdPasswordFile, envEtcdPassword, true); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Validate()
}

// secret reads a secret from file, else (when useEnv) from the environment
// variable env. Trailing newlines of the file are dropped. The value never
// appears in an error.
func secret(flag, file, env string, useEnv bool) (redact.Secret, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", fmt.Errorf("%s: %s is empty", flag, file)
		}
		return redact.Secret(s), nil
	}
	if useEnv {
		return redact.Secret(os.Getenv(env)), nil
	}
	return "", nil
}

// apiFlags say which coordinator a command talks to and how it prints.
type apiFlags struct {
	api     string
	data    string
	jsonOut bool
}

func (f *apiFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.api, "api", "", "coordinator URL (default: from --data DIR/endpoints.json, else $"+envAPI+", else "+defaultAPI+")")
	fl.StringVar(&f.data, "data", "", "data directory of `hintfleet up`: the API address is read from its endpoints.json")
	fl.BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// url resolves the coordinator's URL.
func (f *apiFlags) url() (string, error) {
	if f.api != "" {
		return f.api, nil
	}
	if f.data != "" {
		e, err := cluster.ReadEndpoints(cluster.EndpointsPath(f.data))
		if err != nil {
			return "", fmt.Errorf("--data: %w (is `hintfleet up --data %s` running?)", err, f.data)
		}
		if e.API == "" {
			return "", fmt.Errorf("--data: %s names no API (up ran with --coordinator=false); pass --api", cluster.EndpointsPath(f.data))
		}
		return e.API, nil
	}
	if v := os.Getenv(envAPI); v != "" {
		return v, nil
	}
	return defaultAPI, nil
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
