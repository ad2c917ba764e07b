package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/hintfleet/hintfleet/redact"
)

// listenAddrs says where the embedded servers listen.
type listenAddrs struct {
	NATSURL       string
	EtcdEndpoints []string
}

// Embedded runs etcd and NATS with JetStream inside this process for the
// single-node default (`hintfleet up`, demos, tests). All data lives under one
// directory, so starting again on the same directory resumes: streams,
// messages, consumers, leases and keys survive a Close.
type Embedded struct {
	dir  string
	opts embedOptions
	nats *server.Server
	etcd *embed.Etcd
	eps  listenAddrs

	closeOnce sync.Once
}

// EmbeddedOption tunes StartEmbedded. An option that cannot apply is an error
// from StartEmbedded, never a silent fallback.
type EmbeddedOption func(*embedOptions) error

type embedOptions struct {
	log     *slog.Logger
	token   redact.Secret
	tls     TLSFiles
	etcdTLS TLSFiles
	noSync  bool
	creds   *Credentials
	// cluster, when set (WithCluster), makes these servers one node of a
	// multi-node NATS and etcd cluster on fixed ports.
	cluster *clusterSpec
}

// WithEmbeddedLogger sets the logger for hintfleet's own lines. The servers'
// internal logs stay off: they are verbose and not structured as ours are.
func WithEmbeddedLogger(l *slog.Logger) EmbeddedOption {
	return func(o *embedOptions) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidConfig)
		}
		o.log = l
		return nil
	}
}

// WithNATSToken requires clients of the embedded NATS to present token.
func WithNATSToken(token redact.Secret) EmbeddedOption {
	return func(o *embedOptions) error {
		if token == "" {
			return fmt.Errorf("%w: nats token: empty", ErrInvalidConfig)
		}
		o.token = token
		return nil
	}
}

// WithNATSTLS serves NATS over TLS with f.Cert and f.Key; f.CA is what
// Embedded.Config hands clients to verify the server. With a CA the server
// also verifies client certificates when clients present one.
func WithNATSTLS(f TLSFiles) EmbeddedOption {
	return func(o *embedOptions) error {
		if f.Cert == "" || f.Key == "" {
			return fmt.Errorf("%w: nats tls: cert and key required", ErrInvalidConfig)
		}
		if err := f.validate("nats.tls"); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		o.tls = f
		return nil
	}
}

// WithEtcdTLS serves etcd's client URL over TLS with f.Cert and f.Key and,
// when f.CA is set, requires every client to present a certificate signed by
// it (mutual TLS: etcd's --client-cert-auth). Embedded.Config hands clients
// f itself, so f.Cert must also allow client authentication; a cluster gives
// each client its own certificate instead.
func WithEtcdTLS(f TLSFiles) EmbeddedOption {
	return func(o *embedOptions) error {
		if f.Cert == "" || f.Key == "" {
			return fmt.Errorf("%w: etcd tls: cert and key required", ErrInvalidConfig)
		}
		if err := f.validate("etcd.tls"); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		o.etcdTLS = f
		return nil
	}
}

// WithoutSyncAlways turns off the fsync of every JetStream write. Only for
// throughput benchmarks: an acked message may be lost on a crash.
func WithoutSyncAlways() EmbeddedOption {
	return func(o *embedOptions) error { o.noSync = true; return nil }
}

// ports remembers the chosen ports in dir/ports.json so a restart on the same
// directory listens where clients already point, which a chaos test needs.
type ports struct {
	NATS       int `json:"nats"`
	EtcdClient int `json:"etcd_client"`
	EtcdPeer   int `json:"etcd_peer"`
}

const portsFile = "ports.json"

// StartEmbedded starts etcd (data in dir/etcd) and NATS with JetStream (data
// in dir/nats) on 127.0.0.1 and returns once both accept clients or ctx ends.
// JetStream fsyncs every write (sync always) unless WithoutSyncAlways: on one
// node there is no replica to fall back on. The caller must Close it.
func StartEmbedded(ctx context.Context, dir string, opts ...EmbeddedOption) (*Embedded, error) {
	o := embedOptions{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if o.cluster != nil && o.cluster.routed() && o.creds != nil && o.creds.NATSRoute == "" {
		return nil, fmt.Errorf("%w: cluster credentials: no NATS route password", ErrInvalidConfig)
	}
	e := &Embedded{dir: dir, opts: o}
	p := loadPorts(dir)
	if o.cluster != nil {
		p = o.cluster.self.ports()
	}
	if err := e.startEtcd(ctx, &p); err != nil {
		return nil, err
	}
	if o.creds != nil {
		ec := EtcdConfig{Endpoints: e.eps.EtcdEndpoints, TLS: o.etcdTLS}
		if err := enableEtcdAuth(ctx, ec, o.creds.EtcdRoot); err != nil {
			e.etcd.Close()
			return nil, err
		}
	}
	if err := e.startNATS(ctx, &p); err != nil {
		e.etcd.Close()
		return nil, err
	}
	if err := savePorts(dir, p); err != nil {
		e.Close()
		return nil, err
	}
	o.log.InfoContext(ctx, "embedded servers ready", "nats", e.eps.NATSURL, "etcd", e.eps.EtcdEndpoints, "dir", dir)
	return e, nil
}

func loadPorts(dir string) ports {
	var p ports
	b, err := os.ReadFile(filepath.Join(dir, portsFile))
	if err != nil {
		return p
	}
	if json.Unmarshal(b, &p) != nil {
		return ports{}
	}
	return p
}

func savePorts(dir string, p ports) error {
	b, _ := json.Marshal(p)
	tmp := filepath.Join(dir, portsFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save ports: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, portsFile)); err != nil {
		return fmt.Errorf("save ports: %w", err)
	}
	return nil
}

// portFree reports whether 127.0.0.1:port can be bound now.
func portFree(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// freePort asks the kernel for an unused port. Another process may take it
// before etcd binds it, so startEtcd retries with fresh ports.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

const etcdStartTries = 5

func (e *Embedded) startEtcd(ctx context.Context, p *ports) error {
	if e.opts.cluster != nil {
		return e.startEtcdMember(ctx)
	}
	var lastErr error
	for try := range etcdStartTries {
		if try > 0 || !portFree(p.EtcdClient) || !portFree(p.EtcdPeer) {
			var err error
			if p.EtcdClient, err = freePort(); err != nil {
				return err
			}
			if p.EtcdPeer, err = freePort(); err != nil {
				return err
			}
		}
		cfg := e.etcdConfig("hintfleet")
		scheme := "http"
		if t := e.opts.etcdTLS; t.Cert != "" {
			scheme = "https"
			cfg.ClientTLSInfo = transport.TLSInfo{CertFile: t.Cert, KeyFile: t.Key, TrustedCAFile: t.CA, ClientCertAuth: t.CA != ""}
		}
		client := url.URL{Scheme: scheme, Host: "127.0.0.1:" + strconv.Itoa(p.EtcdClient)}
		peer := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(p.EtcdPeer)}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		etcd, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			continue
		}
		if err := e.waitEtcd(ctx, etcd); err != nil {
			return err
		}
		e.eps.EtcdEndpoints = []string{client.String()}
		return nil
	}
	return fmt.Errorf("start embedded etcd after %d tries: %w", etcdStartTries, lastErr)
}

// waitEtcd waits until etcd serves clients (for a cluster member: has
// joined a cluster with a leader) and keeps it; on an error or ctx's end it
// closes it.
func (e *Embedded) waitEtcd(ctx context.Context, etcd *embed.Etcd) error {
	select {
	case <-etcd.Server.ReadyNotify():
		e.etcd = etcd
		return nil
	case err := <-etcd.Err():
		etcd.Close()
		return fmt.Errorf("start embedded etcd: %w", err)
	case <-ctx.Done():
		etcd.Close()
		return fmt.Errorf("start embedded etcd: %w", context.Cause(ctx))
	}
}

// etcdConfig is the embedded etcd's configuration common to the single
// node and a cluster member: data under dir/etcd, quiet logs, cheap bcrypt
// and periodic compaction.
func (e *Embedded) etcdConfig(name string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = name
	cfg.Dir = filepath.Join(e.dir, "etcd")
	// The root password is 256 random bits (EnsureCredentials): bcrypt's
	// cost guards guessable passwords and here only slows every client's
	// authentication (about 100 ms at the default cost, seconds on a
	// loaded machine, past the dial timeout).
	cfg.BcryptCost = 4 // bcrypt.MinCost
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogLevel = "error"
	// Keep an hour of history so a requeuer can resume a watch after a
	// restart, but no more: claims churn once per task.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	return cfg
}

func (e *Embedded) startNATS(ctx context.Context, p *ports) error {
	port := server.RANDOM_PORT
	if portFree(p.NATS) || e.opts.cluster != nil {
		port = p.NATS
	}
	so := &server.Options{
		ServerName: "hintfleet",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(e.dir, "nats"),
		SyncAlways: !e.opts.noSync,
		NoLog:      true,
		NoSigs:     true,
		// Trajectories of 32k tokens with tool output exceed the 1 MiB default.
		MaxPayload: 8 << 20,
	}
	if e.opts.token != "" {
		so.Authorization = e.opts.token.Reveal()
	}
	if e.opts.creds != nil {
		so.Users = natsUsers(e.opts.creds)
	}
	if c := e.opts.cluster; c != nil {
		if err := c.natsOptions(so, e.opts); err != nil {
			return err
		}
	}
	if e.opts.tls.Cert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: e.opts.tls.Cert,
			KeyFile:  e.opts.tls.Key,
			CaFile:   e.opts.tls.CA,
			Timeout:  2,
		})
		if err != nil {
			return fmt.Errorf("nats tls: %w", err)
		}
		so.TLS, so.TLSConfig, so.TLSTimeout = true, tc, 2
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("start embedded nats: %w", err)
	}
	ns.Start() // does not block; Close shuts the server down and waits
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), 0)
	}
	if !ns.ReadyForConnections(timeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return fmt.Errorf("start embedded nats: %w", errors.New("not ready before deadline"))
	}
	e.nats = ns
	e.eps.NATSURL = ns.ClientURL()
	p.NATS = ns.Addr().(*net.TCPAddr).Port
	return nil
}

// Endpoints returns where the servers listen, as an endpoints file says
// it: one NATS URL and the etcd client URLs.
func (e *Embedded) Endpoints() Endpoints {
	if c := e.opts.cluster; c != nil {
		return c.endpoints(e.opts.etcdTLS.Cert != "")
	}
	return Endpoints{NATS: []string{e.eps.NATSURL}, Etcd: append([]string(nil), e.eps.EtcdEndpoints...)}
}

// Config returns the client configuration for these servers, including the
// token and CA that the options set, ready for Connect.
func (e *Embedded) Config() Config {
	var cfg Config
	cfg.NATS.URLs = e.Endpoints().NATS
	cfg.NATS.Token = e.opts.token
	cfg.NATS.TLS.CA = e.opts.tls.CA
	cfg.Etcd.Endpoints = e.Endpoints().Etcd
	cfg.Etcd.TLS = e.opts.etcdTLS
	if c := e.opts.creds; c != nil {
		cfg.NATS.User, cfg.NATS.Password = NATSCoordinatorUser, c.NATSCoordinator
		cfg.Etcd.Username, cfg.Etcd.Password = EtcdRootUser, c.EtcdRoot
	}
	return cfg
}

// NATSStats are the embedded NATS server's message and byte counters since
// it started, clients' traffic in and out; load harnesses read them.
type NATSStats struct {
	InMsgs, OutMsgs, InBytes, OutBytes int64
}

// NATSStats reads the embedded NATS server's counters.
func (e *Embedded) NATSStats() (NATSStats, error) {
	v, err := e.nats.Varz(nil)
	if err != nil {
		return NATSStats{}, fmt.Errorf("nats stats: %w", err)
	}
	return NATSStats{InMsgs: v.InMsgs, OutMsgs: v.OutMsgs, InBytes: v.InBytes, OutBytes: v.OutBytes}, nil
}

// Dir is the data directory; StartEmbedded on it again resumes.
func (e *Embedded) Dir() string { return e.dir }

// Close shuts NATS down and then etcd, and returns once both have stopped and
// released their files and ports. It is safe to call more than once.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		if e.nats != nil {
			e.nats.Shutdown()
			e.nats.WaitForShutdown()
		}
		if e.etcd != nil {
			e.etcd.Close()
			<-e.etcd.Server.StopNotify()
		}
		e.opts.log.Info("embedded servers stopped", "dir", e.dir)
	})
	return nil
}
