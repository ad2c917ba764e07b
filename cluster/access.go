package cluster

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hintfleet/hintfleet/redact"
)

// Environment variables that may hold the cluster's secrets. Secrets come
// only from files or the environment, never from flags, so they stay out
// of `ps` and shell history.
const (
	EnvNATSToken    = "HINTFLEET_NATS_TOKEN"
	EnvNATSPassword = "HINTFLEET_NATS_PASSWORD"
	EnvEtcdPassword = "HINTFLEET_ETCD_PASSWORD"
)

// ErrNoAddress: neither an endpoints file nor NATS and etcd URLs were given.
var ErrNoAddress = errors.New("say where the cluster is: --data DIR, --endpoints FILE, or --nats URL and --etcd URL")

// Access says, in plain values as a client's flags give them, how to reach
// the cluster: an endpoints file (`hintfleet up`'s), or URLs with TLS and
// credentials for an external cluster. What is set beside Endpoints
// overrides what the file says.
type Access struct {
	// Data is a data directory of `hintfleet up`: its endpoints file is
	// read as Endpoints is (Find's order). With NATS and Etcd given and no
	// Endpoints, it is not read: those URLs name the servers, and Data is
	// only where a coordinator keeps its files.
	Data string
	// Endpoints is an endpoints file (or its folder); its addresses, CA and
	// token file are the starting point.
	Endpoints  string
	NATS, Etcd []string
	// TLS's CA verifies the servers (default: the file's); Cert and Key are
	// a client certificate.
	TLS TLSFiles
	// NATS credentials: at most one of a token (NATSTokenFile, else the
	// file's, else $HINTFLEET_NATS_TOKEN), a creds file, or a user with a
	// password (NATSPasswordFile, else $HINTFLEET_NATS_PASSWORD).
	NATSTokenFile    string
	NATSCreds        string
	NATSUser         string
	NATSPasswordFile string
	// etcd user, with a password from EtcdPasswordFile, else
	// $HINTFLEET_ETCD_PASSWORD.
	EtcdUser         string
	EtcdPasswordFile string
	// Role picks, for a locked fleet's endpoints file (Credentials), whose
	// credentials to present: NATSWorkerUser or NATSCoordinatorUser (the
	// default). NATS credential fields set here replace the file's.
	Role string
	// Getenv reads the environment ($HINTFLEET_DATA and the secrets); nil
	// means os.Getenv.
	Getenv func(string) string
}

// Config is Resolve's Config.
func (a Access) Config() (Config, error) {
	cfg, _, err := a.Resolve()
	return cfg, err
}

// Resolve resolves a, the endpoints file (found by Find: --data,
// --endpoints, $HINTFLEET_DATA) and the environment into a validated
// Config, and says which fleet it found (empty when --nats and --etcd
// alone name the servers). Secrets are read here and held as
// redact.Secret; no error carries one.
func (a Access) Resolve() (Config, Fleet, error) {
	var (
		cfg   Config
		fleet Fleet
	)
	getenv := a.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	tokenFile := a.NATSTokenFile
	explicit := len(a.NATS) > 0 && len(a.Etcd) > 0 && a.Endpoints == ""
	if !explicit {
		f, err := Find(Where{Data: a.Data, Endpoints: a.Endpoints, Getenv: a.Getenv}, NeedServers)
		if err != nil {
			return cfg, fleet, err
		}
		fleet = f
		e := f.Endpoints
		role := a.Role
		if role == "" {
			role = NATSCoordinatorUser
		}
		if cfg, err = e.ConfigFor(role); err != nil {
			return cfg, fleet, err
		}
		if tokenFile == "" {
			tokenFile = e.NATSTokenFile
		}
	}
	if len(a.NATS) > 0 {
		cfg.NATS.URLs = a.NATS
	}
	if len(a.Etcd) > 0 {
		cfg.Etcd.Endpoints = a.Etcd
	}
	if len(cfg.NATS.URLs) == 0 || len(cfg.Etcd.Endpoints) == 0 {
		return cfg, fleet, ErrNoAddress
	}
	tls := TLSFiles{CA: cfg.NATS.TLS.CA, Cert: a.TLS.Cert, Key: a.TLS.Key}
	if a.TLS.CA != "" {
		tls.CA = a.TLS.CA
	}
	cfg.NATS.TLS, cfg.Etcd.TLS = tls, tls
	cfg.NATS.CredsFile = a.NATSCreds
	var err error
	// The locked fleet's own NATS user (from the endpoints file) stands
	// unless a NATS credential is given here.
	fleetUser := cfg.NATS.User != "" && a.NATSCreds == "" && a.NATSUser == "" && a.NATSTokenFile == ""
	if !fleetUser {
		cfg.NATS.User, cfg.NATS.Password = "", ""
		if cfg.NATS.Token, err = secretFrom(getenv, "nats token", tokenFile, EnvNATSToken, a.NATSCreds == "" && a.NATSUser == ""); err != nil {
			return cfg, fleet, err
		}
	}
	if a.NATSUser != "" {
		cfg.NATS.User = a.NATSUser
		if cfg.NATS.Password, err = secretFrom(getenv, "nats password", a.NATSPasswordFile, EnvNATSPassword, true); err != nil {
			return cfg, fleet, err
		}
	}
	if a.EtcdUser != "" {
		cfg.Etcd.Username = a.EtcdUser
		if cfg.Etcd.Password, err = secretFrom(getenv, "etcd password", a.EtcdPasswordFile, EnvEtcdPassword, true); err != nil {
			return cfg, fleet, err
		}
	}
	return cfg, fleet, cfg.Validate()
}

// ReadSecret reads a secret file, dropping trailing newlines. An empty file
// is an error; the value never appears in one.
func ReadSecret(file string) (redact.Secret, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("read secret: %s is empty", file)
	}
	return redact.Secret(s), nil
}

// secretFrom reads what from file, else (when useEnv) from the environment
// variable env.
func secretFrom(getenv func(string) string, what, file, env string, useEnv bool) (redact.Secret, error) {
	if file != "" {
		s, err := ReadSecret(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		return s, nil
	}
	if useEnv {
		return redact.Secret(getenv(env)), nil
	}
	return "", nil
}

// DataDir is the folder of a coordinator replica's job files: Data, else
// $HINTFLEET_DATA. Every replica must share it, so it is never guessed:
// neither set is an error.
func (a Access) DataDir() (string, error) {
	if a.Data != "" {
		return a.Data, nil
	}
	if d := os.Getenv(EnvData); d != "" {
		return d, nil
	}
	return "", errors.New("--data DIR is required (the job files' folder, shared by every replica; else $" + EnvData + ")")
}
