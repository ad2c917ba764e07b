//go:build cgo

package gpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// readMIG lists the MIG GPU instances of h, sorted by ID, with the MIG
// device handle of each (nil where the driver has none), or nothing for a
// GPU not in MIG mode. Instances are found through the GPU-instance API
// (one query per profile), the way nvidia-smi mig -lgi does; the MIG
// device handles, which carry the UUID and memory use, are matched to
// them by GPU instance id.
func readMIG(h nvml.Device, totalBytes uint64) ([]MIGInstance, []nvml.Device, error) {
	current, _, ret := h.GetMigMode()
	switch {
	case ret == nvml.ERROR_NOT_SUPPORTED:
		return nil, nil, nil // pre-Ampere or consumer card: no MIG at all
	case ret != nvml.SUCCESS:
		return nil, nil, fmt.Errorf("read mig mode: %w", ret)
	case current != nvml.DEVICE_MIG_ENABLE:
		return nil, nil, nil
	}
	var out []MIGInstance
	for p := range nvml.GPU_INSTANCE_PROFILE_COUNT {
		prof, ret := h.GetGpuInstanceProfileInfo(p)
		if ret != nvml.SUCCESS {
			continue // a profile this GPU does not offer
		}
		gis, ret := h.GetGpuInstances(&prof)
		if ret != nvml.SUCCESS {
			continue
		}
		for _, gi := range gis {
			info, ret := gi.GetInfo()
			if ret != nvml.SUCCESS {
				return nil, nil, fmt.Errorf("read gpu instance of profile %d: %w", p, ret)
			}
			out = append(out, MIGInstance{
				ID: int(info.Id), ProfileID: int(prof.Id), Slices: int(prof.SliceCount),
				Profile:          migProfileName(prof, totalBytes),
				MemoryTotalBytes: prof.MemorySizeMB * mib,
			})
		}
	}
	slices.SortFunc(out, func(a, b MIGInstance) int { return a.ID - b.ID })
	handles := make([]nvml.Device, len(out))
	n, ret := h.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return out, handles, nil // instances without handles: listed, not measured
	}
	for i := range n {
		m, ret := h.GetMigDeviceHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue // NOT_FOUND: no MIG device at this index
		}
		gid, ret := m.GetGpuInstanceId()
		if ret != nvml.SUCCESS {
			continue
		}
		k := slices.IndexFunc(out, func(x MIGInstance) bool { return x.ID == gid })
		if k < 0 {
			continue
		}
		handles[k] = m
		if uuid, ret := m.GetUUID(); ret == nvml.SUCCESS {
			out[k].UUID = uuid
		}
		if mem, ret := m.GetMemoryInfo(); ret == nvml.SUCCESS && mem.Total > 0 {
			out[k].MemoryTotalBytes = mem.Total
		}
	}
	return out, handles, nil
}

// migProfileName names a GPU instance profile as nvidia-smi does:
// "<slices>g.<memory>gb" plus a suffix for the media-engine variants. The
// memory figure is the profile's share of the whole frame buffer rounded
// up to an eighth, times the GPU's size in whole GB: the profile reports
// slightly less than its nominal size (9856 MiB for an H100's "10gb"), so
// plain rounding of the MiB figure would misname some profiles.
func migProfileName(p nvml.GpuInstanceProfileInfo, totalBytes uint64) string {
	gb := float64(p.MemorySizeMB) / 1024
	if totalBytes > 0 {
		totalGB := math.Ceil(float64(totalBytes) / (1 << 30))
		share := math.Ceil(float64(p.MemorySizeMB*mib)/float64(totalBytes)*8) / 8
		gb = share * totalGB
	}
	return fmt.Sprintf("%dg.%dgb%s", p.SliceCount, uint64(math.Round(gb)), migProfileSuffix(int(p.Id)))
}

func migProfileSuffix(id int) string {
	switch id {
	case nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1, nvml.GPU_INSTANCE_PROFILE_2_SLICE_REV1:
		return "+me"
	case nvml.GPU_INSTANCE_PROFILE_1_SLICE_NO_ME, nvml.GPU_INSTANCE_PROFILE_2_SLICE_NO_ME:
		return "-me"
	case nvml.GPU_INSTANCE_PROFILE_1_SLICE_GFX, nvml.GPU_INSTANCE_PROFILE_2_SLICE_GFX, nvml.GPU_INSTANCE_PROFILE_4_SLICE_GFX:
		return "+gfx"
	}
	return ""
}

// readMIGMemory fills in the memory use of each instance with a handle.
func readMIGMemory(errs *[]error, mig []MIGInstance, handles []nvml.Device) []MIGInstance {
	if len(mig) == 0 {
		return nil
	}
	out := slices.Clone(mig)
	for i, m := range handles {
		if m == nil {
			continue
		}
		mem := field(errs, fmt.Sprintf("mig %d memory info", out[i].ID), m.GetMemoryInfo)
		out[i].MemoryUsedBytes = mem.Used
	}
	return out
}
