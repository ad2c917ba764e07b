package clustertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
)

// Peers picks n peers named n1…nn on 127.0.0.1 whose four ports each
// (cluster.Peer: NATS client and route, etcd client and peer) are free now.
//
// The ports are drawn below Linux's ephemeral range (32768 and up by
// default), from which the kernel takes the source port of every outgoing
// connection: a port picked there, free when picked, could become the
// source of one of the other nodes' connections before its node listened
// on it, and that node then failed to start ("start embedded nats: not
// ready before deadline") while the others waited for it.
func Peers(t testing.TB, n int) []cluster.Peer {
	t.Helper()
	var peers []cluster.Peer
	for tries := 0; len(peers) < n; tries++ {
		if tries > 10_000 {
			t.Fatalf("no %d sets of four free ports in %d–%d", n, peerPortLow, peerPortHigh)
		}
		base := peerPortLow + rand.IntN(peerPortHigh-peerPortLow-3)
		ok := true
		for _, p := range peers {
			ok = ok && (base-p.Port >= 4 || p.Port-base >= 4)
		}
		for i := 0; ok && i < 4; i++ {
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i)); err != nil {
				ok = false
			} else {
				_ = l.Close()
			}
		}
		if ok {
			peers = append(peers, cluster.Peer{Name: fmt.Sprintf("n%d", len(peers)+1), Host: "127.0.0.1", Port: base})
		}
	}
	return peers
}

// The range Peers draws from: registered ports, below the ephemeral range.
const (
	peerPortLow  = 20_000
	peerPortHigh = 32_700
)

// Nodes is a multi-node cluster run in this process (StartNodes).
type Nodes struct {
	Root  string
	Peers []cluster.Peer
	Nodes map[string]*cluster.Node
}

// StartNodes starts n nodes (cluster.StartNode) in a fresh t.TempDir,
// each in Root/<name> with one shared credentials folder, Root/credentials,
// and returns once all serve (each waits for a quorum). Cleanup closes
// them.
func StartNodes(t testing.TB, n int) *Nodes {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*StartTimeout)
	defer cancel()
	c := &Nodes{Root: t.TempDir(), Peers: Peers(t, n), Nodes: map[string]*cluster.Node{}}
	if _, _, err := cluster.ClusterCredentials(c.CredentialsDir(), true); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, p := range c.Peers {
		wg.Go(func() {
			node, err := cluster.StartNode(ctx, cluster.NodeConfig{Dir: filepath.Join(c.Root, p.Name), Name: p.Name,
				Peers: c.Peers, CredentialsDir: c.CredentialsDir()})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: %w", p.Name, err))
				return
			}
			c.Nodes[p.Name] = node
		})
	}
	wg.Wait()
	for _, node := range c.Nodes {
		t.Cleanup(func() { _ = node.Close() })
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return c
}

// CredentialsDir is the folder of the cluster's passwords.
func (c *Nodes) CredentialsDir() string { return filepath.Join(c.Root, "credentials") }

// Connect opens a connection to every node as the coordinator user, closed
// at cleanup.
func (c *Nodes) Connect(t testing.TB) *cluster.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	cfg, err := c.Nodes[c.Peers[0].Name].Endpoints().ConfigFor(cluster.NATSCoordinatorUser)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
