package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/hintfleet/hintfleet/redact"
)

// TLSFiles names PEM files for a TLS client. CA alone verifies the server;
// Cert and Key together add a client certificate (mutual TLS).
type TLSFiles struct {
	CA   string `json:"ca,omitempty" yaml:"ca,omitempty"`
	Cert string `json:"cert,omitempty" yaml:"cert,omitempty"`
	Key  string `json:"key,omitempty" yaml:"key,omitempty"`
}

// Enabled reports whether any TLS file is set.
func (t TLSFiles) Enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

func (t TLSFiles) validate(field string) error {
	var errs []error
	if (t.Cert == "") != (t.Key == "") {
		errs = append(errs, fmt.Errorf("%s: cert and key must be set together", field))
	}
	for name, path := range map[string]string{"ca": t.CA, "cert": t.Cert, "key": t.Key} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", field, name, err))
		}
	}
	return errors.Join(errs...)
}

// NATSConfig says how to reach NATS. At most one of CredsFile, Token and
// User/Password is set.
type NATSConfig struct {
	URLs      []string      `json:"urls" yaml:"urls"`
	TLS       TLSFiles      `json:"tls,omitempty" yaml:"tls,omitempty"`
	CredsFile string        `json:"creds_file,omitempty" yaml:"creds_file,omitempty"`
	Token     redact.Secret `json:"token,omitempty" yaml:"token,omitempty"`
	User      string        `json:"user,omitempty" yaml:"user,omitempty"`
	Password  redact.Secret `json:"password,omitempty" yaml:"password,omitempty"`
}

// EtcdConfig says how to reach etcd.
type EtcdConfig struct {
	Endpoints []string      `json:"endpoints" yaml:"endpoints"`
	TLS       TLSFiles      `json:"tls,omitempty" yaml:"tls,omitempty"`
	Username  string        `json:"username,omitempty" yaml:"username,omitempty"`
	Password  redact.Secret `json:"password,omitempty" yaml:"password,omitempty"`
	// DialTimeout bounds the first connection; zero means DefaultDialTimeout.
	DialTimeout time.Duration `json:"dial_timeout,omitempty" yaml:"dial_timeout,omitempty"`
}

// DefaultDialTimeout bounds Connect's first contact with each service.
const DefaultDialTimeout = 5 * time.Second

// Config is the cluster section of hintfleet's configuration: where NATS and
// etcd are and how to authenticate. Embedded.Config returns one for the
// single-node servers.
type Config struct {
	NATS NATSConfig `json:"nats" yaml:"nats"`
	Etcd EtcdConfig `json:"etcd" yaml:"etcd"`
}

// Validate reports every problem at once, each naming its field, all wrapping
// ErrInvalidConfig. It checks that files exist but not that they parse.
func (c Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.NATS.URLs) == 0 {
		add(errors.New("nats.urls: at least one URL required"))
	}
	for i, u := range c.NATS.URLs {
		add(checkURL(fmt.Sprintf("nats.urls[%d]", i), u, "nats", "tls", "ws", "wss"))
	}
	add(c.NATS.TLS.validate("nats.tls"))
	auth := 0
	if c.NATS.CredsFile != "" {
		auth++
		if _, err := os.Stat(c.NATS.CredsFile); err != nil {
			add(fmt.Errorf("nats.creds_file: %w", err))
		}
	}
	if c.NATS.Token != "" {
		auth++
	}
	if c.NATS.User != "" || c.NATS.Password != "" {
		auth++
		if c.NATS.User == "" {
			add(errors.New("nats.user: required with nats.password"))
		}
	}
	if auth > 1 {
		add(errors.New("nats: set only one of creds_file, token, user/password"))
	}
	if len(c.Etcd.Endpoints) == 0 {
		add(errors.New("etcd.endpoints: at least one endpoint required"))
	}
	for i, e := range c.Etcd.Endpoints {
		add(checkURL(fmt.Sprintf("etcd.endpoints[%d]", i), e, "http", "https", "unix", "unixs"))
	}
	add(c.Etcd.TLS.validate("etcd.tls"))
	if (c.Etcd.Username == "") != (c.Etcd.Password == "") {
		add(errors.New("etcd.username: username and password must be set together"))
	}
	if c.Etcd.DialTimeout < 0 {
		add(fmt.Errorf("etcd.dial_timeout: %v is negative", c.Etcd.DialTimeout))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

func checkURL(field, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	for _, s := range schemes {
		if u.Scheme == s {
			if u.Host == "" && u.Path == "" {
				return fmt.Errorf("%s: %q has no host", field, raw)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: %q: scheme must be one of %v", field, raw, schemes)
}
