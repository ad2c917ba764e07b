package plugins

import (
	"errors"
	"fmt"
)

// Over returns base with every field l sets (above zero) in its place:
// how a tool's WithLimits lays the limits it is given over its defaults.
// A negative field is an error naming it; all of them are reported,
// joined, and base is returned unchanged with them.
func (l Limits) Over(base Limits) (Limits, error) {
	out := base
	var errs []error
	if l.Timeout < 0 {
		errs = append(errs, fmt.Errorf("limit timeout: %v is negative", l.Timeout))
	} else if l.Timeout > 0 {
		out.Timeout = l.Timeout
	}
	for _, f := range []struct {
		name string
		v    int64
		dst  *int64
	}{
		{"memory_bytes", l.MemoryBytes, &out.MemoryBytes},
		{"output_bytes", l.OutputBytes, &out.OutputBytes},
		{"processes", l.Processes, &out.Processes},
		{"file_bytes", l.FileBytes, &out.FileBytes},
		{"open_files", l.OpenFiles, &out.OpenFiles},
		{"tmpfs_bytes", l.TmpfsBytes, &out.TmpfsBytes},
	} {
		switch {
		case f.v < 0:
			errs = append(errs, fmt.Errorf("limit %s: %d is negative", f.name, f.v))
		case f.v > 0:
			*f.dst = f.v
		}
	}
	if len(errs) > 0 {
		return base, errors.Join(errs...)
	}
	return out, nil
}
