// Package clustertest starts real embedded etcd and NATS servers for tests in
// other packages, as net/http/httptest starts a real HTTP server: no mocks.
package clustertest

import (
	"context"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
)

// StartTimeout bounds how long Start waits for both servers. The first start
// under -race on a loaded machine is slow.
const StartTimeout = 60 * time.Second

// Env is a running pair of servers and a connection to them.
type Env struct {
	*cluster.Embedded
	Conn *cluster.Conn
}

// Start runs embedded servers in a fresh t.TempDir, connects to them and
// creates the streams. Cleanup closes the connection and then the servers.
func Start(t testing.TB, opts ...cluster.EmbeddedOption) *Env {
	t.Helper()
	return StartIn(t, t.TempDir(), opts...)
}

// StartIn is Start on a given directory, for restart tests: Close the
// returned Env's Embedded (or let cleanup do it) and call StartIn again on
// the same directory.
func StartIn(t testing.TB, dir string, opts ...cluster.EmbeddedOption) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	l, err := cluster.StartLocal(ctx, dir, opts...)
	if err != nil {
		t.Fatalf("start local cluster: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return &Env{Embedded: l.Embedded, Conn: l.Conn}
}

// Connect opens another connection to env, closed at cleanup; a test uses one
// per simulated process so that killing one leaves the others.
func (env *Env) Connect(t testing.TB) *cluster.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	conn, err := cluster.Connect(ctx, env.Config())
	if err != nil {
		t.Fatalf("connect embedded cluster: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
