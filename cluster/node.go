package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// A node of a multi-machine cluster (`hintfleet servers`, StartNode) runs
// one NATS server and one etcd member in one process. Its peers are named
// once, identically on every machine, as name=host:port; port is the node's
// NATS client port and the three after it are its other ports:
//
//	port     NATS clients
//	port+1   NATS routes (server to server)
//	port+2   etcd clients
//	port+3   etcd peers (member to member)
//
// so several nodes fit on one machine (tests, a laptop) and one node per
// machine needs only one number per host.
const (
	// DefaultNodePort is a peer's port when its entry gives none: NATS's
	// own default client port.
	DefaultNodePort = 4222
	// ClusterName is the NATS cluster's name and etcd's initial cluster
	// token, so that two fleets' servers never join each other by mistake
	// only when they use different names; hintfleet runs one per network.
	ClusterName = "hintfleet"
	// routeUser is the user the NATS servers present on routes.
	routeUser = "route"
)

// Peer is one node of a cluster as the --peers list names it.
type Peer struct {
	Name string
	Host string
	Port int
}

func (p Peer) ports() ports {
	return ports{NATS: p.Port, EtcdClient: p.Port + 2, EtcdPeer: p.Port + 3}
}

func (p Peer) addr(offset int) string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port+offset)) }

// String is the peer as ParsePeers reads it.
func (p Peer) String() string { return p.Name + "=" + p.addr(0) }

var peerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// ParsePeers reads a peer list, "n1=host:port,n2=host:port,…" (the port
// may be left out: DefaultNodePort). Names are unique letters, digits, '-'
// and '_' (they name etcd members and NATS servers); so are the address
// and port ranges of any two peers. An error names the entry.
func ParsePeers(s string) ([]Peer, error) {
	var peers []Peer
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, addr, ok := strings.Cut(entry, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("%w: peers[%d] %q: want name=host:port", ErrInvalidConfig, i, entry)
		}
		if !peerName.MatchString(name) {
			return nil, fmt.Errorf("%w: peers[%d] %q: name: letters, digits, '-' and '_' only", ErrInvalidConfig, i, entry)
		}
		p := Peer{Name: name, Host: addr, Port: DefaultNodePort}
		if h, port, err := net.SplitHostPort(addr); err == nil {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535-3 {
				return nil, fmt.Errorf("%w: peers[%d] %q: port: want 1..%d", ErrInvalidConfig, i, entry, 65535-3)
			}
			p.Host, p.Port = h, n
		}
		if p.Host == "" {
			return nil, fmt.Errorf("%w: peers[%d] %q: no host", ErrInvalidConfig, i, entry)
		}
		if seen["name "+p.Name] {
			return nil, fmt.Errorf("%w: peers[%d] %q: name %s given twice", ErrInvalidConfig, i, entry, p.Name)
		}
		seen["name "+p.Name] = true
		for _, q := range peers {
			if q.Host == p.Host && p.Port-q.Port < 4 && q.Port-p.Port < 4 {
				return nil, fmt.Errorf("%w: peers[%d] %q: ports %d..%d overlap %s's", ErrInvalidConfig, i, entry, p.Port, p.Port+3, q.Name)
			}
		}
		peers = append(peers, p)
	}
	return peers, nil
}

// clusterSpec is WithCluster's: which peer this node is, all of them, and
// the address the servers bind (default: the node's own host).
type clusterSpec struct {
	self  Peer
	peers []Peer
	bind  string
}

// routed reports whether there are other nodes to route to.
func (c *clusterSpec) routed() bool { return len(c.peers) > 1 }

// WithCluster makes the embedded servers the node self of the cluster
// peers: NATS listens on self's fixed ports and routes to the other
// nodes (JetStream clustered, server name self), etcd is the member self
// of the initial cluster peers. bind, when set, is the address to listen
// on (0.0.0.0, say) while the others reach the node at its peer host.
// With WithCredentials the routes authenticate with Credentials.NATSRoute;
// with WithNATSTLS and a CA the routes use TLS and verify each other, and
// with WithEtcdTLS and a CA so do etcd's peers.
func WithCluster(self string, peers []Peer, bind string) EmbeddedOption {
	return func(o *embedOptions) error {
		c := &clusterSpec{peers: peers, bind: bind}
		found := false
		for _, p := range peers {
			if p.Name == self {
				c.self, found = p, true
			}
		}
		if !found {
			return fmt.Errorf("%w: node %q is not in the peers %v", ErrInvalidConfig, self, peers)
		}
		if c.bind == "" {
			c.bind = c.self.Host
		}
		o.cluster = c
		return nil
	}
}

// natsOptions makes so the NATS server of the node: fixed ports, its name,
// the routes to the other nodes.
func (c *clusterSpec) natsOptions(so *server.Options, o embedOptions) error {
	so.ServerName = c.self.Name
	so.Host, so.Port = c.bind, c.self.Port
	so.ClientAdvertise = c.self.addr(0)
	if !c.routed() {
		return nil
	}
	so.Cluster = server.ClusterOpts{Name: ClusterName, Host: c.bind, Port: c.self.Port + 1, Advertise: c.self.addr(1)}
	var user *url.Userinfo
	if o.creds != nil {
		so.Cluster.Username, so.Cluster.Password = routeUser, o.creds.NATSRoute.Reveal()
		user = url.UserPassword(routeUser, o.creds.NATSRoute.Reveal())
	}
	if t := o.tls; t.Cert != "" && t.CA != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key, CaFile: t.CA, Verify: true, Timeout: 2})
		if err != nil {
			return fmt.Errorf("nats route tls: %w", err)
		}
		so.Cluster.TLSConfig, so.Cluster.TLSTimeout = tc, 2
	}
	for _, p := range c.peers {
		if p.Name != c.self.Name {
			so.Routes = append(so.Routes, &url.URL{Scheme: "nats", User: user, Host: p.addr(1)})
		}
	}
	return nil
}

// schemes are the etcd client and peer URL schemes: https when the
// servers have a certificate (peers only with a CA to verify each other).
func etcdSchemes(t TLSFiles) (client, peer string) {
	client, peer = "http", "http"
	if t.Cert != "" {
		client = "https"
		if t.CA != "" {
			peer = "https"
		}
	}
	return client, peer
}

// startEtcdMember starts the node's etcd member and waits until it serves,
// which takes a quorum of the initial cluster: the first node started
// waits for a second. A member restarted on its data rejoins by itself
// (the initial cluster settings are read only on a first start).
func (e *Embedded) startEtcdMember(ctx context.Context) error {
	c := e.opts.cluster
	cfg := e.etcdConfig(c.self.Name)
	cs, ps := etcdSchemes(e.opts.etcdTLS)
	if t := e.opts.etcdTLS; t.Cert != "" {
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: t.Cert, KeyFile: t.Key, TrustedCAFile: t.CA, ClientCertAuth: t.CA != ""}
		if ps == "https" {
			cfg.PeerTLSInfo = transport.TLSInfo{CertFile: t.Cert, KeyFile: t.Key, TrustedCAFile: t.CA, ClientCertAuth: true}
		}
	}
	p := c.self.ports()
	bind := func(scheme string, port int) url.URL {
		return url.URL{Scheme: scheme, Host: net.JoinHostPort(c.bind, strconv.Itoa(port))}
	}
	cfg.ListenClientUrls = []url.URL{bind(cs, p.EtcdClient)}
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: cs, Host: c.self.addr(2)}}
	cfg.ListenPeerUrls = []url.URL{bind(ps, p.EtcdPeer)}
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: ps, Host: c.self.addr(3)}}
	var initial []string
	for _, q := range c.peers {
		initial = append(initial, q.Name+"="+ps+"://"+q.addr(3))
	}
	cfg.InitialCluster = strings.Join(initial, ",")
	cfg.InitialClusterToken = ClusterName
	cfg.ClusterState = embed.ClusterStateFlagNew
	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start etcd member %s: %w", c.self.Name, err)
	}
	if err := e.waitEtcd(ctx, etcd); err != nil {
		return err
	}
	e.eps.EtcdEndpoints = []string{cs + "://" + c.self.addr(2)}
	return nil
}

// endpoints lists every node's NATS and etcd client URLs.
func (c *clusterSpec) endpoints(etcdTLS bool) Endpoints {
	var e Endpoints
	cs := "http"
	if etcdTLS {
		cs = "https"
	}
	for _, p := range c.peers {
		e.NATS = append(e.NATS, "nats://"+p.addr(0))
		e.Etcd = append(e.Etcd, cs+"://"+p.addr(2))
	}
	return e
}

// NodeConfig is what StartNode runs: the node Name of Peers, its data in
// Dir.
type NodeConfig struct {
	// Dir holds the node's data (Dir/cluster) and the endpoints file it
	// writes once it serves (Dir/endpoints.json).
	Dir   string
	Name  string
	Peers []Peer
	// Bind is the address to listen on; default the node's peer host.
	Bind string
	// CredentialsDir holds the cluster's passwords, the same on every
	// node (default Dir/credentials). GenerateCredentials makes the
	// missing ones; without it a missing file is an error, since a node
	// with passwords of its own would be refused by the others.
	CredentialsDir      string
	GenerateCredentials bool
	// Insecure runs without credentials: anyone who reaches a port may
	// use it, and NATS routes are not authenticated.
	Insecure bool
	// TLS serves NATS and etcd clients with TLS.Cert; with TLS.CA the
	// servers also verify each other (routes, etcd peers) and etcd its
	// clients. The certificate must serve both as server and as client.
	TLS TLSFiles
	Log *slog.Logger
}

// Node is one running node of a cluster (StartNode).
type Node struct {
	emb  *Embedded
	conn *Conn
	eps  Endpoints
}

// ensurePoll is how often StartNode retries making the streams while
// JetStream has no quorum yet.
const ensurePoll = 250 * time.Millisecond

// ensureTry bounds one try of making the streams.
const ensureTry = 2 * time.Second

// StartNode runs one node of a multi-machine cluster: NATS with JetStream
// and an etcd member, clustered with the other peers (WithCluster), locked
// by the cluster's credentials unless Insecure. It returns once etcd has a
// quorum, JetStream has made or found the streams and bucket (R3 on three
// or more nodes: EnsureStreams), and Dir/endpoints.json lists every node;
// until then it waits for the other nodes, or ctx's end. Close stops it.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: node: no data dir", ErrInvalidConfig)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("node data dir: %w", err)
	}
	opts := []EmbeddedOption{WithEmbeddedLogger(log), WithCluster(cfg.Name, cfg.Peers, cfg.Bind)}
	var files *CredentialFiles
	if !cfg.Insecure {
		cdir := cfg.CredentialsDir
		if cdir == "" {
			cdir = filepath.Join(dir, credentialsDir)
		}
		if cdir, err = filepath.Abs(cdir); err != nil {
			return nil, fmt.Errorf("credentials dir: %w", err)
		}
		f, creds, err := ClusterCredentials(cdir, cfg.GenerateCredentials)
		if err != nil {
			return nil, err
		}
		files = &f
		opts = append(opts, WithCredentials(creds))
	}
	if cfg.TLS.Cert != "" || cfg.TLS.Key != "" {
		opts = append(opts, WithNATSTLS(cfg.TLS), WithEtcdTLS(cfg.TLS))
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("node data dir: %w", err)
	}
	if err := RemoveEndpoints(dir); err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "node starting; etcd waits for a quorum of peers", "node", cfg.Name, "peers", cfg.Peers)
	emb, err := StartEmbedded(ctx, filepath.Join(dir, "cluster"), opts...)
	if err != nil {
		return nil, err
	}
	conn, err := Connect(ctx, emb.Config())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("connect to the node's servers: %w", err), emb.Close())
	}
	n := &Node{emb: emb, conn: conn}
	if err := n.ensureStreams(ctx, log); err != nil {
		return nil, errors.Join(err, n.close())
	}
	n.eps = emb.Endpoints()
	n.eps.Credentials, n.eps.Data, n.eps.PID = files, dir, os.Getpid()
	if cfg.TLS.CA != "" {
		if n.eps.TLSCA, err = filepath.Abs(cfg.TLS.CA); err != nil {
			return nil, errors.Join(fmt.Errorf("tls ca: %w", err), n.close())
		}
	}
	if err := WriteEndpoints(dir, n.eps); err != nil {
		return nil, errors.Join(err, n.close())
	}
	return n, nil
}

// ensureStreams makes the streams and bucket, retrying while JetStream
// elects its meta leader or lacks the peers that R3 needs.
func (n *Node) ensureStreams(ctx context.Context, log *slog.Logger) error {
	t := time.NewTicker(ensurePoll)
	defer t.Stop()
	said := false
	for {
		// Each try has its own deadline: a request sent before JetStream
		// has a meta leader may never be answered.
		actx, cancel := context.WithTimeout(ctx, ensureTry)
		err := EnsureStreams(actx, n.conn.JS, StreamOptions{})
		cancel()
		if err == nil {
			return nil
		}
		if !said {
			log.InfoContext(ctx, "waiting for JetStream peers to make the streams", "err", err)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: make streams: %w (last: %w)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// Endpoints is what the node wrote to its endpoints file: every node's
// NATS and etcd URLs, the credential files, the CA.
func (n *Node) Endpoints() Endpoints { return n.eps }

// Conn is the node's own connection, as the coordinator user.
func (n *Node) Conn() *Conn { return n.conn }

// Close removes the endpoints file, closes the connection and stops the
// servers. The other nodes go on; this one rejoins when started again on
// the same Dir.
func (n *Node) Close() error {
	return errors.Join(RemoveEndpoints(n.eps.Data), n.close())
}

func (n *Node) close() error { return errors.Join(n.conn.Close(), n.emb.Close()) }
