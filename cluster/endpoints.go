package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hintfleet/hintfleet/trajectory"
)

// EndpointsFile is the file `hintfleet up` writes in its data directory once
// everything it runs accepts clients. Scripts and tests poll for it; other
// processes (`worker --endpoints`, `submit --data`) read where to connect
// from it.
const EndpointsFile = "endpoints.json"

// EndpointsPoll is how often WaitEndpoints looks for the file.
const EndpointsPoll = 100 * time.Millisecond

// Endpoints is the content of an endpoints file: addresses only, never a
// secret. A token the servers require is named by its file.
type Endpoints struct {
	// API is the coordinator's HTTP API; empty when up ran no coordinator.
	API           string   `json:"api,omitempty"`
	NATS          []string `json:"nats"`
	Etcd          []string `json:"etcd"`
	NATSTokenFile string   `json:"nats_token_file,omitempty"`
	// Credentials name the password files of a locked fleet
	// (EnsureCredentials); ConfigFor reads them.
	Credentials *CredentialFiles `json:"credentials,omitempty"`
	// APITokenFile holds the API's bearer tokens (`ROLE TOKEN` lines, mode
	// 0600): the coordinator serves them, CLI commands send the highest.
	APITokenFile string `json:"api_token_file,omitempty"`
	// TLSCA verifies the servers when they speak TLS.
	TLSCA string `json:"tls_ca,omitempty"`
	// Model is what up's local workers serve, the default of `submit`.
	Model string `json:"model,omitempty"`
	Data  string `json:"data,omitempty"`
	PID   int    `json:"pid"`
}

// Config is the connection the endpoints describe: the addresses and the
// CA. Credentials (the token named by NATSTokenFile) are the caller's to
// read and add.
func (e Endpoints) Config() Config {
	var c Config
	c.NATS.URLs, c.Etcd.Endpoints = e.NATS, e.Etcd
	c.NATS.TLS.CA, c.Etcd.TLS.CA = e.TLSCA, e.TLSCA
	return c
}

// ConfigFor is Config with the credentials of role (NATSCoordinatorUser or
// NATSWorkerUser) read from the files the endpoints name; without
// Credentials it is Config.
func (e Endpoints) ConfigFor(role string) (Config, error) {
	c := e.Config()
	if e.Credentials == nil {
		return c, nil
	}
	var natsFile string
	switch role {
	case NATSCoordinatorUser:
		natsFile = e.Credentials.NATSCoordinator
	case NATSWorkerUser:
		natsFile = e.Credentials.NATSWorker
	default:
		return c, fmt.Errorf("endpoints: role %q: want %s or %s", role, NATSCoordinatorUser, NATSWorkerUser)
	}
	var err error
	c.NATS.User = role
	if c.NATS.Password, err = ReadSecretFile(natsFile); err != nil {
		return c, err
	}
	c.Etcd.Username = EtcdRootUser
	if c.Etcd.Password, err = ReadSecretFile(e.Credentials.EtcdRoot); err != nil {
		return c, err
	}
	return c, nil
}

// EndpointsPath is dir's endpoints file.
func EndpointsPath(dir string) string { return filepath.Join(dir, EndpointsFile) }

// WriteEndpoints writes e to dir's endpoints file atomically (temp file and
// rename), so a reader polling for the file never sees half of it.
func WriteEndpoints(dir string, e Endpoints) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	path := EndpointsPath(dir)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write endpoints: %w", err)
	}
	return nil
}

// RemoveEndpoints removes dir's endpoints file, if any, so that a file left
// by an earlier run does not tell pollers the servers are up.
func RemoveEndpoints(dir string) error {
	if err := os.Remove(EndpointsPath(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale endpoints: %w", err)
	}
	return nil
}

// ReadEndpoints reads an endpoints file strictly (an unknown field is an
// error), naming the file in every error. A missing file wraps
// os.ErrNotExist.
func ReadEndpoints(path string) (Endpoints, error) {
	var e Endpoints
	b, err := os.ReadFile(path)
	if err != nil {
		return e, fmt.Errorf("read endpoints: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Endpoints{}, trajectory.JSONDocumentError(path, b, dec.InputOffset(), err)
	}
	return e, nil
}

// WaitEndpoints waits until dir's endpoints file exists and reads it,
// polling every EndpointsPoll. A file that exists but does not parse is an
// error at once (writes are atomic, so it is not a half-written one); ctx's
// end is an error wrapping its cause.
func WaitEndpoints(ctx context.Context, dir string) (Endpoints, error) {
	t := time.NewTicker(EndpointsPoll)
	defer t.Stop()
	for {
		e, err := ReadEndpoints(EndpointsPath(dir))
		if !errors.Is(err, os.ErrNotExist) {
			return e, err
		}
		select {
		case <-ctx.Done():
			return Endpoints{}, fmt.Errorf("wait for %s: %w", EndpointsPath(dir), context.Cause(ctx))
		case <-t.C:
		}
	}
}
