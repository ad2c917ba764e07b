package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// Modes and names of what `hintfleet up` keeps in its data directory.
const (
	// DataDirMode is the mode of the data directory and its folders.
	DataDirMode = 0o750
	// APITokensFile is the API tokens file an up generates there.
	APITokensFile = "api-tokens"
)

// UpData is the data directory of one `hintfleet up`, owned by this
// process (LockData) from OpenUpData until Close.
type UpData struct {
	// Dir is the directory's absolute path.
	Dir  string
	lock *DataLock
}

// OpenUpData makes dir (mode DataDirMode) and takes its lock before
// anything in it is read or written, so that a second up on it exits at
// once with an *InUseError, then removes a stale endpoints file.
func OpenUpData(dir string) (*UpData, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	if err := os.MkdirAll(abs, DataDirMode); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	lock, err := LockData(abs)
	if err != nil {
		return nil, err
	}
	if err := RemoveEndpoints(abs); err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	return &UpData{Dir: abs, lock: lock}, nil
}

// Close releases the directory.
func (d *UpData) Close() error { return d.lock.Close() }

// UpConfig is how up runs its servers, as its flags give it.
type UpConfig struct {
	// Insecure runs NATS and etcd without credentials and generates no API
	// token (development only).
	Insecure bool
	// NATSTokenFile makes NATS require this file's token from clients,
	// instead of the per-role users generated in the data directory.
	NATSTokenFile string
	// TLS serves NATS and etcd over TLS; with a CA, etcd also requires
	// client certificates.
	TLS TLSFiles
	// Logger receives the servers' logs and the warning of Insecure.
	Logger *slog.Logger
}

// Start locks the servers by default (a NATS user per role and etcd's
// root, passwords generated once in the data directory, 0600; an admin API
// token likewise, EnsureAPITokens), starts them (StartLocal) under
// Dir/cluster, records their etcd cluster in the lock (so that coordinator
// replicas of this fleet may share the directory: JoinData) and returns
// them with the Endpoints to publish once the node accepts work: every
// field but API and Model, which the caller fills. The caller closes the
// node.
func (d *UpData) Start(ctx context.Context, cfg UpConfig) (*Local, Endpoints, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ep := Endpoints{Data: d.Dir, PID: os.Getpid()}
	opts := []EmbeddedOption{WithEmbeddedLogger(log.With("component", "cluster"))}
	var err error
	switch {
	case cfg.Insecure:
		log.Warn("INSECURE: NATS, etcd and the API accept anyone (--insecure)")
	case cfg.NATSTokenFile == "":
		files, creds, err := EnsureCredentials(d.Dir)
		if err != nil {
			return nil, Endpoints{}, err
		}
		ep.Credentials = &files
		opts = append(opts, WithCredentials(creds))
	}
	if cfg.NATSTokenFile != "" {
		tok, err := ReadSecret(cfg.NATSTokenFile)
		if err != nil {
			return nil, Endpoints{}, fmt.Errorf("--nats-token-file: %w", err)
		}
		opts = append(opts, WithNATSToken(tok))
		if ep.NATSTokenFile, err = filepath.Abs(cfg.NATSTokenFile); err != nil {
			return nil, Endpoints{}, fmt.Errorf("--nats-token-file: %w", err)
		}
	}
	if cfg.TLS.Cert != "" || cfg.TLS.Key != "" {
		opts = append(opts, WithNATSTLS(cfg.TLS), WithEtcdTLS(cfg.TLS))
	}
	if cfg.TLS.CA != "" {
		if ep.TLSCA, err = filepath.Abs(cfg.TLS.CA); err != nil {
			return nil, Endpoints{}, fmt.Errorf("--tls-ca: %w", err)
		}
	}
	if !cfg.Insecure {
		// Every CLI command finds the API's admin token through endpoints.json.
		if ep.APITokenFile, err = EnsureAPITokens(d.Dir); err != nil {
			return nil, Endpoints{}, err
		}
	}
	node, err := StartLocal(ctx, filepath.Join(d.Dir, "cluster"), opts...)
	if err != nil {
		return nil, Endpoints{}, err
	}
	if err := d.lock.SetEtcdCluster(ctx, node.Conn.Etcd); err != nil {
		return nil, Endpoints{}, errors.Join(err, node.Close())
	}
	started := node.Endpoints()
	ep.NATS, ep.Etcd = started.NATS, started.Etcd
	return node, ep, nil
}

// EnsureAPITokens returns dir's API tokens file, creating it with one
// fresh admin token (`ROLE TOKEN` lines, mode 0600) when it does not
// exist; a resumed fleet keeps its token.
func EnsureAPITokens(dir string) (string, error) {
	path := filepath.Join(dir, APITokensFile)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("api tokens: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("api tokens: %w", err)
	}
	_, werr := fmt.Fprintf(f, "# hintfleet API tokens: ROLE TOKEN per line (read, submit, admin)\nadmin %s\n", rand.Text()+rand.Text())
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("api tokens: %w", err)
	}
	return path, nil
}
