package gpu

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultPollInterval is how often Run samples the backend. dcgm-exporter
// samples every 30 s; the worker's admission control wants fresher memory
// figures, and a full NVML poll costs microseconds per device.
const DefaultPollInterval = 5 * time.Second

// Collector polls a Backend and serves the latest snapshot as Prometheus
// series named as dcgm-exporter names them. Scrapes never touch the
// driver: they read the last poll, so a slow driver cannot stall
// Prometheus and many scrapers cost nothing extra.
//
// Run owns the polling goroutine; Collect, Describe, Devices and Poll are
// safe to call concurrently with it.
type Collector struct {
	backend  Backend
	interval time.Duration
	hostname string
	logger   *slog.Logger
	descs    []*prometheus.Desc

	mu      sync.RWMutex
	devices []Device
}

// Option tunes NewCollector.
type Option func(*Collector) error

// WithInterval sets the poll interval (default DefaultPollInterval).
func WithInterval(d time.Duration) Option {
	return func(c *Collector) error {
		if d <= 0 {
			return fmt.Errorf("poll interval %v: want > 0", d)
		}
		c.interval = d
		return nil
	}
}

// WithHostname sets the Hostname label (default os.Hostname). In
// Kubernetes pass the node name: a pod's hostname is the pod's.
func WithHostname(h string) Option {
	return func(c *Collector) error {
		if h == "" {
			return fmt.Errorf("hostname: empty")
		}
		c.hostname = h
		return nil
	}
}

// WithLogger sets where poll errors are logged (default: discarded).
func WithLogger(l *slog.Logger) Option {
	return func(c *Collector) error {
		if l == nil {
			return fmt.Errorf("logger: nil")
		}
		c.logger = l
		return nil
	}
}

// NewCollector returns a collector over b. It does not poll until Poll or
// Run is called; until then it emits no series.
func NewCollector(b Backend, opts ...Option) (*Collector, error) {
	if b == nil {
		return nil, fmt.Errorf("new collector: nil backend")
	}
	c := &Collector{backend: b, interval: DefaultPollInterval, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("new collector: %w", err)
		}
	}
	if c.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("new collector: hostname: %w", err)
		}
		c.hostname = h
	}
	for _, m := range metrics {
		c.descs = append(c.descs, prometheus.NewDesc(m.name, m.help, deviceLabels, nil))
	}
	return c, nil
}

// Poll samples the backend once and publishes the result. On a partial
// failure the devices that were read are published and the error returned.
func (c *Collector) Poll(ctx context.Context) error {
	devs, err := c.backend.Snapshot(ctx)
	if devs != nil || err == nil {
		c.mu.Lock()
		c.devices = devs
		c.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("poll gpus: %w", err)
	}
	return nil
}

// Run polls at the interval until ctx is done, then returns nil. Poll
// errors are logged, not returned: a GPU that fails one read should not
// stop telemetry for the others.
func (c *Collector) Run(ctx context.Context) error {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		if err := c.Poll(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("gpu poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Devices returns the last poll's devices. The slice is the caller's; the
// Process slices inside are shared and must not be modified.
func (c *Collector) Devices() []Device {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]Device(nil), c.devices...)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.Devices() {
		labels := labelValues(d, c.hostname)
		for i, m := range metrics {
			ch <- prometheus.MustNewConstMetric(c.descs[i], m.valueType, m.value(d), labels...)
			if m.mig == nil {
				continue
			}
			for _, mi := range d.MIG {
				ch <- prometheus.MustNewConstMetric(c.descs[i], m.valueType, m.mig(mi), migLabelValues(d, mi, c.hostname)...)
			}
		}
	}
}
