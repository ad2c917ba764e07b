//go:build cgo

package gpu

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// benchPolls and benchScrapes are the fixed workloads: `make bench` runs
// each benchmark once (-benchtime 1x), so the loop inside sets the sample.
const (
	benchGPUs    = 8
	benchPolls   = 2000
	benchScrapes = 300
)

// BenchmarkNVMLPoll times full snapshots of simulated GPUs through the
// NVML reader: the per-device cost of one poll on the shared code path.
func BenchmarkNVMLPoll(b *testing.B) {
	b.ReportAllocs()
	_, src := openSim(b, benchGPUs, nil, WithSimLoad(StaticLoad{Running: 64, KVUsage: 0.5}))
	ctx := context.Background()
	var elapsed time.Duration
	for range b.N {
		start := time.Now()
		for range benchPolls {
			if _, err := src.Snapshot(ctx); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
	}
	perDevice := float64(elapsed.Microseconds()) / float64(b.N*benchPolls*benchGPUs)
	fmt.Printf("BENCH nvml_poll_us_per_device %.3f us\n", perDevice)
}

// BenchmarkNVMLPollReal times full snapshots through the real driver, the
// same reader as BenchmarkNVMLPoll; it skips on a machine without one.
func BenchmarkNVMLPollReal(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	src, err := Open(ctx, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	devs, err := src.Devices(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(devs) == 0 {
		b.Skipf("no GPU here: %v", src.Missing())
	}
	const polls = 200 // a real poll costs milliseconds per device, not microseconds
	var elapsed time.Duration
	for range b.N {
		start := time.Now()
		for range polls {
			if _, err := src.Snapshot(ctx); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
	}
	perDevice := float64(elapsed.Microseconds()) / float64(b.N*polls*len(devs))
	fmt.Printf("BENCH nvml_poll_us_per_device_real %.3f us\n", perDevice)
}

// BenchmarkMetricsScrape times GET /metrics over real HTTP with 8
// simulated GPUs, as Prometheus would scrape it.
func BenchmarkMetricsScrape(b *testing.B) {
	b.ReportAllocs()
	_, src := openSim(b, benchGPUs, nil, WithSimLoad(StaticLoad{Running: 64, KVUsage: 0.5}))
	c, err := NewCollector(src, WithHostname("bench"))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	exp, err := NewExporter(c)
	if err != nil {
		b.Fatal(err)
	}
	addr, _ := serveExporter(b, exp)
	client := &http.Client{Timeout: 10 * time.Second}
	url := "http://" + addr + "/metrics"
	get := func() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
		}
	}
	get() // connection set up and first poll out of the timing
	var elapsed time.Duration
	for range b.N {
		start := time.Now()
		for range benchScrapes {
			get()
		}
		elapsed += time.Since(start)
	}
	fmt.Printf("BENCH metrics_scrape_ms_8gpu %.3f ms\n", float64(elapsed.Microseconds())/1000/float64(b.N*benchScrapes))
}
