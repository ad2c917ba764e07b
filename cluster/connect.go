package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Conn is an open connection to both services. It is safe for concurrent use;
// Close releases both.
type Conn struct {
	NATS *nats.Conn
	JS   jetstream.JetStream
	Etcd *clientv3.Client
}

// Connect validates cfg, dials NATS and etcd, checks etcd answers before
// ctx ends and that both servers are new enough (MinNATSVersion,
// MinEtcdVersion; else ErrServerTooOld). On error nothing stays open.
func Connect(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nc, err := dialNATS(ctx, cfg.NATS)
	if err != nil {
		return nil, err
	}
	if err := checkNATSVersion(nc); err != nil {
		nc.Close()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("open jetstream: %w", err)
	}
	cli, err := dialEtcd(ctx, cfg.Etcd)
	if err != nil {
		nc.Close()
		return nil, err
	}
	vctx, cancel := context.WithTimeout(ctx, DefaultDialTimeout)
	defer cancel()
	if err := checkEtcdVersion(vctx, cli, cfg.Etcd.Endpoints); err != nil {
		nc.Close()
		_ = cli.Close()
		return nil, err
	}
	return &Conn{NATS: nc, JS: js, Etcd: cli}, nil
}

// Close drains nothing: it closes both clients at once. Callers that must
// flush publishes call NATS.Flush or NATS.Drain first.
func (c *Conn) Close() error {
	c.NATS.Close()
	if err := c.Etcd.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close etcd client: %w", err)
	}
	return nil
}

func tlsConfig(field string, f TLSFiles) (*tls.Config, error) {
	if !f.Enabled() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("%s.ca: %w", field, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca: %s: no PEM certificate", field, f.CA)
		}
		tc.RootCAs = pool
	}
	if f.Cert != "" {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("%s.cert: %w", field, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// A server that answers no ping for natsPingInterval × natsMaxPingsOut
// (a frozen process, a partition that keeps the socket open) is left for
// another of the URLs. nats.go's defaults (2 min × 2) would hold every
// request to it for minutes; a cluster chaos run (SIGSTOP of a node)
// stalled the fleet that long.
const (
	natsPingInterval = 2 * time.Second
	natsMaxPingsOut  = 3
)

// etcd's keepalive pings: etcd refuses pings more often than every 5 s
// (its --grpc-keepalive-min-time), so a silent member is left after about
// 8 s.
const (
	etcdKeepAliveTime    = 5 * time.Second
	etcdKeepAliveTimeout = 3 * time.Second
)

func dialNATS(ctx context.Context, c NATSConfig) (*nats.Conn, error) {
	timeout := DefaultDialTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(d), 0))
	}
	opts := []nats.Option{
		nats.Name("hintfleet"),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.PingInterval(natsPingInterval),
		nats.MaxPingsOutstanding(natsMaxPingsOut),
	}
	tc, err := tlsConfig("nats.tls", c.TLS)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token.Reveal()))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password.Reveal()))
	}
	nc, err := nats.Connect(strings.Join(c.URLs, ","), opts...)
	if err != nil {
		// nats errors never carry the token, so wrapping is safe.
		return nil, fmt.Errorf("connect nats %v: %w", c.URLs, err)
	}
	return nc, nil
}

func dialEtcd(ctx context.Context, c EtcdConfig) (*clientv3.Client, error) {
	tc, err := tlsConfig("etcd.tls", c.TLS)
	if err != nil {
		return nil, err
	}
	dial := c.DialTimeout
	if dial == 0 {
		dial = DefaultDialTimeout
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints,
		DialTimeout: dial,
		TLS:         tc,
		Username:    c.Username,
		Password:    c.Password.Reveal(),
		Context:     context.WithoutCancel(ctx),
		// A member that is frozen (SIGSTOP, a partition that keeps the
		// socket open) answers nothing; keepalives find it so that the
		// client moves to another member.
		DialKeepAliveTime:    etcdKeepAliveTime,
		DialKeepAliveTimeout: etcdKeepAliveTimeout,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect etcd %v: %w", c.Endpoints, err)
	}
	// clientv3.New does not wait for a connection; one cheap read does.
	pctx, cancel := context.WithTimeout(ctx, dial)
	defer cancel()
	if _, err := cli.Get(pctx, ElectionPrefix, clientv3.WithCountOnly()); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("reach etcd %v: %w", c.Endpoints, err)
	}
	return cli, nil
}
