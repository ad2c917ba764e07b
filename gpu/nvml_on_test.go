//go:build nvml && cgo

package gpu

import (
	"bytes"
	"context"
	"testing"
)

// TestOpenRealNVML runs only in `-tags nvml` builds. Without a driver it
// checks the contract that matters on GPU-less nodes: no crash, an empty
// Source. With one it reads every device once through the real driver.
func TestOpenRealNVML(t *testing.T) {
	ctx := context.Background()
	src, err := Open(ctx, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()
	devs, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(devs) == 0 {
		t.Log("no NVIDIA driver or GPU here: empty source, as intended")
		return
	}
	for _, d := range devs {
		if d.UUID == "" || d.MemoryTotalBytes == 0 || d.MemoryUsedBytes+d.MemoryFreeBytes > d.MemoryTotalBytes {
			t.Errorf("gpu %d: implausible reading %+v", d.Index, d)
		}
	}
	var buf bytes.Buffer
	if err := ListDevices(ctx, &buf, src, DefaultThresholds()); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
}
