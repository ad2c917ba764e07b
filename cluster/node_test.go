package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

func TestParsePeers(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "n1=10.0.0.1:4222,n2=10.0.0.2:4222,n3=10.0.0.3:4222", want: "n1=10.0.0.1:4222 n2=10.0.0.2:4222 n3=10.0.0.3:4222"},
		{in: "a=h1, b=h2", want: "a=h1:4222 b=h2:4222"},
		{in: "a=127.0.0.1:7400,b=127.0.0.1:7404", want: "a=127.0.0.1:7400 b=127.0.0.1:7404"},
		{in: "a=[::1]:7400", want: "a=[::1]:7400"},
		{in: "a=127.0.0.1:7400,b=127.0.0.1:7403", err: `peers[1] "b=127.0.0.1:7403": ports 7403..7406 overlap a's`},
		{in: "a=h1,a=h2", err: "name a given twice"},
		{in: "h1:4222", err: "want name=host:port"},
		{in: "a b=h1", err: "name: letters"},
		{in: "a=h1:x", err: "port: want 1..65532"},
		{in: "a=h1:65534", err: "port: want 1..65532"},
		{in: "a=:4222", err: "no host"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			peers, err := cluster.ParsePeers(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, cluster.ErrInvalidConfig) {
					t.Fatalf("ParsePeers(%q) = %v, %v; want error containing %q", tc.in, peers, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range peers {
				got = append(got, p.String())
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("ParsePeers(%q) = %v, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// TestThreeNodes runs a three-node cluster in this process, checks that
// every endpoints file lists all three, that the streams and the bucket
// are R3, that etcd has three members, and that the fleet's connection
// keeps publishing after the node leading TASKS stops.
func TestThreeNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := clustertest.StartNodes(t, 3)
	root, peers, nodes := c.Root, c.Peers, c.Nodes

	var ep cluster.Endpoints
	for _, p := range peers {
		e, err := cluster.ReadEndpoints(cluster.EndpointsPath(filepath.Join(root, p.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.NATS) != 3 || len(e.Etcd) != 3 || e.Credentials == nil {
			t.Fatalf("%s's endpoints: %+v, want 3 NATS, 3 etcd and credentials", p.Name, e)
		}
		ep = e
	}
	cfg, err := ep.ConfigFor(cluster.NATSCoordinatorUser)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for _, name := range []string{cluster.StreamTasks, cluster.StreamResults, cluster.CheckpointsStream} {
		s, err := conn.JS.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info := s.CachedInfo()
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			t.Fatalf("stream %s: replicas %d, cluster %+v; want R3", name, info.Config.Replicas, info.Cluster)
		}
	}
	members, err := conn.Etcd.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 3 {
		t.Fatalf("etcd has %d members, want 3", len(members.Members))
	}

	// Stop the node that leads TASKS; the stream elects another leader
	// and the same connection publishes again.
	s, err := conn.JS.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	leader := s.CachedInfo().Cluster.Leader
	if err := nodes[leader].Close(); err != nil {
		t.Fatalf("close %s: %v", leader, err)
	}
	if _, err := os.Stat(cluster.EndpointsPath(filepath.Join(root, leader))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stopped node left its endpoints file: %v", err)
	}
	subj := cluster.TaskSubject("pool", "job")
	eventually.True(t, 60*time.Second, "publish after the TASKS leader stopped", func() bool {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := conn.JS.Publish(pctx, subj, []byte("x"), jetstream.WithMsgID("t.a1"))
		return err == nil
	})
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster.Leader == leader || info.Cluster.Leader == "" {
		t.Fatalf("TASKS leader after stopping %s: %q", leader, info.Cluster.Leader)
	}
	if _, err := conn.Etcd.Put(ctx, cluster.KeyPrefix+"test", "1"); err != nil {
		t.Fatalf("etcd after stopping %s: %v", leader, err)
	}
}

func TestStartNodeNeedsCredentials(t *testing.T) {
	peers := clustertest.Peers(t, 1)
	_, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Dir: t.TempDir(), Name: "n1", Peers: peers})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("StartNode without credentials: %v, want an error wrapping os.ErrNotExist", err)
	}
	_, err = cluster.StartNode(t.Context(), cluster.NodeConfig{Dir: t.TempDir(), Name: "n9", Peers: peers, Insecure: true})
	if !errors.Is(err, cluster.ErrInvalidConfig) {
		t.Fatalf("StartNode of a node not in the peers: %v, want ErrInvalidConfig", err)
	}
}

// TestServeNode: ServeNode says how to make missing credentials, and a
// second process on owned data is refused before it starts anything.
func TestServeNode(t *testing.T) {
	peers := clustertest.Peers(t, 1)
	err := cluster.ServeNode(t.Context(), cluster.NodeConfig{Dir: t.TempDir(), Name: "n1", Peers: peers})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "--generate-credentials") {
		t.Fatalf("ServeNode without credentials: %v, want os.ErrNotExist and the --generate-credentials hint", err)
	}
	dir := t.TempDir()
	lock, err := cluster.LockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := cluster.ServeNode(t.Context(), cluster.NodeConfig{Dir: dir, Name: "n1", Peers: peers, Insecure: true}); err == nil {
		t.Fatal("ServeNode on locked data: no error")
	}
}
