//go:build cgo

package gpu

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// TestMIGInstances puts simulated GPU 1 in MIG mode through go-nvml's
// mock (SetMigMode, CreateGpuInstance) and checks that the reader lists
// its instances, the exporter labels their frame buffer series as
// dcgm-exporter does (GPU_I_PROFILE, GPU_I_ID on the parent's gpu and
// UUID) and `gpu list` shows them under their GPU.
func TestMIGInstances(t *testing.T) {
	ctx := context.Background()
	_, src := openSim(t, 2, nil, WithSimLoad(StaticLoad{Running: 8, KVUsage: 0.5}),
		WithSimMIG(1, "3g.40gb", "1g.10gb", "1g.10gb"))
	infos, err := src.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos[0].MIG) != 0 {
		t.Errorf("gpu 0 not in MIG mode lists instances %+v", infos[0].MIG)
	}
	got := infos[1].MIG
	want := []struct {
		id      int
		profile string
		mib     uint64
	}{{0, "3g.40gb", 40960}, {1, "1g.10gb", 10240}, {2, "1g.10gb", 10240}}
	if len(got) != len(want) {
		t.Fatalf("gpu 1 MIG = %+v, want %d instances", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Profile != w.profile || g.MemoryTotalBytes != w.mib*mib || !strings.HasPrefix(g.UUID, "MIG-") {
			t.Errorf("instance %d = %+v, want id %d %s %d MiB with a MIG- UUID", i, g, w.id, w.profile, w.mib)
		}
	}

	devs := snapshot(t, src)
	if used := devs[1].MIG[1].MemoryUsedBytes; used != 5120*mib {
		t.Errorf("instance 1 used = %d MiB, want 5120 (half its 10 GiB at KV 0.5)", used/mib)
	}
	c, err := NewCollector(src, WithHostname("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	exp, err := NewExporter(c)
	if err != nil {
		t.Fatal(err)
	}
	body := string(scrape(t, exp.Handler()))
	for _, line := range []string{
		`DCGM_FI_DEV_FB_USED{GPU_I_ID="1",GPU_I_PROFILE="1g.10gb",Hostname="node-a",UUID="GPU-5151a000-0000-4000-8000-000000000001",device="nvidia1",gpu="1",modelName="NVIDIA H100 80GB HBM3"} 5120`,
		`DCGM_FI_DEV_FB_FREE{GPU_I_ID="0",GPU_I_PROFILE="3g.40gb",Hostname="node-a",UUID="GPU-5151a000-0000-4000-8000-000000000001",device="nvidia1",gpu="1",modelName="NVIDIA H100 80GB HBM3"} 20480`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks\n%s", line)
		}
	}
	if strings.Contains(body, `DCGM_FI_DEV_GPU_TEMP{GPU_I_ID="1"`) {
		t.Error("temperature is the physical GPU's, but is reported per MIG instance")
	}

	var buf bytes.Buffer
	if err := ListDevices(ctx, &buf, src, DefaultThresholds()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1:2") || !strings.Contains(buf.String(), "MIG 1g.10gb") {
		t.Errorf("gpu list lacks MIG rows:\n%s", buf.String())
	}

	refs, err := Resolve([]string{"1"}, infos)
	if err != nil || len(refs) != 3 || refs[2] != (Ref{GPU: 1, MIG: 2}) {
		t.Errorf("Resolve(1) = %v, %v; want the 3 instances of gpu 1", refs, err)
	}
	refs, err = Resolve([]string{got[2].UUID}, infos)
	if err != nil || len(refs) != 1 || refs[0] != (Ref{GPU: 1, MIG: 2}) {
		t.Errorf("Resolve(%s) = %v, %v; want 1:2", got[2].UUID, refs, err)
	}
}

func TestSimMIGBadProfile(t *testing.T) {
	if _, err := NewSimulator(1, WithSimMIG(0, "5g.50gb")); err == nil || !strings.Contains(err.Error(), "1g.10gb") {
		t.Errorf("unknown profile: err = %v, want one listing the offered profiles", err)
	}
	if _, err := NewSimulator(1, WithSimMIG(3, "1g.10gb")); err == nil {
		t.Error("MIG on gpu 3 of 1: want error")
	}
}

// TestMIGProfileName names profiles with the figures real drivers report,
// which are a little under the nominal size.
func TestMIGProfileName(t *testing.T) {
	const a100, h100 = 40536 * mib, 81559 * mib
	for _, tc := range []struct {
		id, slices int
		memMiB     uint64
		total      uint64
		want       string
	}{
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE, 1, 4864, a100, "1g.5gb"},
		{nvml.GPU_INSTANCE_PROFILE_2_SLICE, 2, 9984, a100, "2g.10gb"},
		{nvml.GPU_INSTANCE_PROFILE_3_SLICE, 3, 19968, a100, "3g.20gb"},
		{nvml.GPU_INSTANCE_PROFILE_7_SLICE, 7, 40192, a100, "7g.40gb"},
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE, 1, 9856, h100, "1g.10gb"},
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1, 1, 9856, h100, "1g.10gb+me"},
		{nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV2, 1, 19968, h100, "1g.20gb"},
		{nvml.GPU_INSTANCE_PROFILE_7_SLICE, 7, 80384, h100, "7g.80gb"},
	} {
		p := nvml.GpuInstanceProfileInfo{Id: uint32(tc.id), SliceCount: uint32(tc.slices), MemorySizeMB: tc.memMiB}
		if got := migProfileName(p, tc.total); got != tc.want {
			t.Errorf("profile %d, %d slices, %d MiB of %d MiB = %q, want %q", tc.id, tc.slices, tc.memMiB, tc.total/mib, got, tc.want)
		}
	}
}
