package gpu

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// ExporterConfig is `hintfleet gpu exporter` as its flags give it.
type ExporterConfig struct {
	// Options open the GPUs; their Logger hears why there are none (once)
	// and the XID events.
	Options Options
	// Listen is the address /metrics is served on.
	Listen string
	// Interval is how often the GPUs are polled.
	Interval time.Duration
	// Hostname labels the series when set.
	Hostname string
}

// Export is `hintfleet gpu exporter`: it opens the GPUs (Open), serves
// their series (RunExporter) until ctx ends and closes them. Once the
// port is open it writes "serving GPU metrics on http://ADDR/metrics
// (simulated: BOOL)" to announce, so a script learns the port it got.
func Export(ctx context.Context, cfg ExporterConfig, announce io.Writer) error {
	src, err := Open(ctx, cfg.Options)
	if err != nil {
		return err
	}
	defer src.Close()
	return RunExporter(ctx, src, cfg.Listen, cfg.Interval, cfg.Hostname, func(a net.Addr) {
		fmt.Fprintf(announce, "serving GPU metrics on http://%s/metrics (simulated: %v)\n", a, src.Simulated())
	})
}

// List is `hintfleet gpu list`: it opens the GPUs, writes them
// (Source.WriteList with DefaultThresholds) and closes them.
func List(ctx context.Context, opts Options, w io.Writer, asJSON bool) error {
	src, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	defer src.Close()
	return src.WriteList(ctx, w, DefaultThresholds(), asJSON)
}
