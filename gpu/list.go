package gpu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ListDevices samples b once and writes a table, one row per GPU and one
// per MIG instance under it ("0:1" is GPU instance 1 of GPU 0, as
// GPU_I_ID labels it), for `hintfleet gpu list`. With no GPUs it writes "no GPUs found" and returns
// nil: an empty node is a fact, not an error.
func ListDevices(ctx context.Context, w io.Writer, b Backend, th Thresholds) error {
	devs, err := b.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("list gpus: %w", err)
	}
	if len(devs) == 0 {
		_, err := fmt.Fprintln(w, "no GPUs found")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GPU\tUUID\tNAME\tMEMORY (MiB)\tUTIL\tTEMP\tPOWER\tSM CLOCK\tPROCS\tHEALTH")
	for _, d := range devs {
		health := "ok"
		if ok, reasons := Health(d, th); !ok {
			health = strings.Join(reasons, "; ")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d / %d\t%d%%\t%d C\t%.0f W\t%d MHz\t%d\t%s\n",
			d.Index, d.UUID, d.Name, d.MemoryUsedBytes/mib, d.MemoryTotalBytes/mib,
			d.GPUUtilPercent, d.TemperatureC, d.PowerW, d.SMClockMHz, len(d.Processes), health)
		for _, m := range d.MIG {
			uuid := m.UUID
			if uuid == "" {
				uuid = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\tMIG %s\t%d / %d\t-\t-\t-\t-\t-\t%s\n",
				Ref{GPU: d.Index, MIG: m.ID}, uuid, m.Profile, m.MemoryUsedBytes/mib, m.MemoryTotalBytes/mib, health)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("list gpus: write: %w", err)
	}
	return nil
}

// WriteList is `hintfleet gpu list`: the table of ListDevices, or "no GPUs
// found" and why (s.Missing), or with asJSON the devices as a JSON array
// (empty, not null, when there are none).
func (s *Source) WriteList(ctx context.Context, w io.Writer, th Thresholds, asJSON bool) error {
	if !asJSON {
		if why := s.Missing(); why != nil {
			_, err := fmt.Fprintf(w, "no GPUs found (%v)\n", why)
			return err
		}
		return ListDevices(ctx, w, s, th)
	}
	devs, err := s.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("list gpus: %w", err)
	}
	if devs == nil {
		devs = []Device{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(devs)
}
