package gpu

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/internal/serve"
)

// shutdownTimeout bounds how long Serve waits for in-flight scrapes.
const shutdownTimeout = 5 * time.Second

// Exporter serves a Collector's series on /metrics from a registry of its
// own, never the process default, so two exporters (or tests) in one
// process do not collide.
type Exporter struct {
	coll    *Collector
	reg     *prometheus.Registry
	handler http.Handler
}

// NewExporter registers c in a new registry. extra collectors (the
// worker's fleet series, say) are served beside it.
func NewExporter(c *Collector, extra ...prometheus.Collector) (*Exporter, error) {
	if c == nil {
		return nil, fmt.Errorf("new exporter: nil collector")
	}
	reg := prometheus.NewRegistry()
	for _, col := range append([]prometheus.Collector{c}, extra...) {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("new exporter: register: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return &Exporter{coll: c, reg: reg, handler: mux}, nil
}

// Registry is the exporter's registry, for callers adding collectors.
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Handler serves /metrics and /healthz.
func (e *Exporter) Handler() http.Handler { return e.handler }

// Serve runs the collector's poll loop and an HTTP server on ln until ctx
// is done or either fails; it returns after both have stopped and ln is
// closed. A cancelled ctx is a clean stop and returns nil.
func (e *Exporter) Serve(ctx context.Context, ln net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.coll.Run(gctx) })
	g.Go(func() error {
		if err := serve.HTTP(gctx, ln, e.handler, serve.WithGrace(shutdownTimeout)); err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// ListenAndServe listens on addr (":9400" is dcgm-exporter's port) and
// calls Serve.
func (e *Exporter) ListenAndServe(ctx context.Context, addr string) error {
	// One poll before the port opens, so that a scrape right after
	// "listening" already finds the device series. A failure here is
	// logged by the collector's own first poll in Serve.
	_ = e.coll.Poll(ctx)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return e.Serve(ctx, ln)
}

// RunExporter is `hintfleet gpu exporter`: it serves b's series (a
// Collector polling every interval, labelled with hostname when set) on
// addr until ctx ends. listening is called with the bound address once the
// port is open and the GPUs were read once, and not at all when the port
// cannot be opened, so that "serving" is never said of a busy address.
func RunExporter(ctx context.Context, b Backend, addr string, interval time.Duration, hostname string, listening func(net.Addr)) error {
	opts := []Option{WithInterval(interval)}
	if hostname != "" {
		opts = append(opts, WithHostname(hostname))
	}
	coll, err := NewCollector(b, opts...)
	if err != nil {
		return err
	}
	exp, err := NewExporter(coll)
	if err != nil {
		return err
	}
	_ = coll.Poll(ctx) // before the port opens, as in ListenAndServe
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	listening(ln.Addr())
	return exp.Serve(ctx, ln)
}
