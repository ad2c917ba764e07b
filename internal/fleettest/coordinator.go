package fleettest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

// StartCoordinator runs one coordinator replica on conn, with its HTTP API
// on a loopback test server and its data in dir, waits (up to limit) until
// it leads, and stops it, waiting, when the test ends. It returns the API's
// base URL and a client of it.
func StartCoordinator(tb testing.TB, conn *cluster.Conn, dir string, limit time.Duration) (string, *coordinator.Client) {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	c, err := coordinator.New(conn, coordinator.Config{DataDir: dir, ElectionTTL: 2 * time.Second,
		Advertise: "http://" + srv.Listener.Addr().String()}, coordinator.WithLogger(Log().With("role", "coordinator")))
	if err != nil {
		tb.Fatal(err)
	}
	srv.Config.Handler = c.Handler()
	srv.Start()
	tb.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			tb.Errorf("coordinator Run: %v", err)
		}
	})
	eventually.True(tb, limit, "coordinator leads", c.IsLeader)
	cl, err := coordinator.NewClient(srv.URL, srv.Client())
	if err != nil {
		tb.Fatal(err)
	}
	return srv.URL, cl
}
