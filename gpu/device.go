package gpu

import (
	"fmt"
	"slices"
)

// Info is what does not change while a device is attached: enough to name
// it in a table, a label set or a placement decision.
type Info struct {
	// Index is NVML's enumeration index, the "gpu" label.
	Index int `json:"index"`
	// Minor is the /dev/nvidiaN minor number, the "device" label.
	Minor int `json:"minor"`
	// UUID is the stable identity ("GPU-…"); indexes can change across
	// reboots, UUIDs do not.
	UUID string `json:"uuid"`
	// Name is the product name, e.g. "NVIDIA H100 80GB HBM3".
	Name string `json:"name"`
	// MemoryTotalBytes is the frame buffer size.
	MemoryTotalBytes uint64 `json:"memory_total_bytes"`
	// MIG lists the MIG GPU instances of a device in MIG mode, by ID;
	// empty for a whole GPU. Health (XID, ECC, temperature) stays the
	// parent's: a fault on the GPU is a fault on all its instances.
	MIG []MIGInstance `json:"mig,omitempty"`
}

// MIGInstance is one MIG GPU instance, named as dcgm-exporter labels it
// (GPU_I_ID, GPU_I_PROFILE) and as CUDA_VISIBLE_DEVICES selects it (UUID).
type MIGInstance struct {
	// ID is the GPU instance id on its parent, the GPU_I_ID label.
	ID int `json:"id"`
	// Profile is the profile's name as nvidia-smi prints it and the
	// GPU_I_PROFILE label carries it: "1g.10gb", "3g.40gb", "1g.10gb+me".
	Profile string `json:"profile"`
	// ProfileID is NVML's profile id (nvml.GPU_INSTANCE_PROFILE_*).
	ProfileID int `json:"profile_id"`
	// Slices is how many of the GPU's seven (or eight) slices it holds.
	Slices int `json:"slices"`
	// UUID is the MIG device's UUID ("MIG-…"); empty when the driver has
	// no MIG device for the instance yet (no compute instance created).
	UUID string `json:"uuid"`
	// MemoryTotalBytes is the instance's share of the frame buffer;
	// MemoryUsedBytes is read by Snapshot (zero in Backend.Devices).
	MemoryTotalBytes uint64 `json:"memory_total_bytes"`
	MemoryUsedBytes  uint64 `json:"memory_used_bytes"`
}

// DeviceName is the node name dcgm-exporter puts in its "device" label.
func (i Info) DeviceName() string { return fmt.Sprintf("nvidia%d", i.Minor) }

// Process is one compute process holding memory on a device.
type Process struct {
	PID             uint32 `json:"pid"`
	UsedMemoryBytes uint64 `json:"used_memory_bytes"`
}

// Device is one poll's view of a GPU. Values a device does not support
// (ECC on a consumer card, say) are zero.
type Device struct {
	Info

	MemoryUsedBytes uint64 `json:"memory_used_bytes"`
	MemoryFreeBytes uint64 `json:"memory_free_bytes"`
	// GPUUtilPercent is the share of the last sample period in which a
	// kernel ran; MemCopyUtilPercent the share in which device memory was
	// read or written. Both 0–100, as NVML reports them.
	GPUUtilPercent     uint32  `json:"gpu_util_percent"`
	MemCopyUtilPercent uint32  `json:"mem_copy_util_percent"`
	TemperatureC       uint32  `json:"temperature_c"`
	PowerW             float64 `json:"power_w"`
	SMClockMHz         uint32  `json:"sm_clock_mhz"`
	// ECCCorrected and ECCUncorrected are volatile totals (since the last
	// driver load): single-bit corrected and double-bit uncorrected errors.
	ECCCorrected   uint64 `json:"ecc_corrected"`
	ECCUncorrected uint64 `json:"ecc_uncorrected"`
	// LastXID is the most recent XID error seen since the source opened,
	// 0 if none; XIDCount counts them.
	LastXID   uint64    `json:"last_xid"`
	XIDCount  uint64    `json:"xid_count"`
	Processes []Process `json:"processes"`
}

// Thresholds say when Health calls a device unhealthy.
type Thresholds struct {
	// MaxTemperatureC: above it the device is over temperature; H100 and
	// A100 start slowing their clocks near 85 C.
	MaxTemperatureC uint32
	// MaxUncorrectedECC: more volatile double-bit errors than this make
	// the device unhealthy; the default 0 means any.
	MaxUncorrectedECC uint64
	// IgnoredXIDs are XIDs caused by the application rather than the GPU
	// (13 graphics engine exception, 31 MMU fault, 43 stopped channel, 45
	// preemptive cleanup): a bad kernel, not a bad card.
	IgnoredXIDs []uint64
}

// DefaultMaxTemperatureC is DefaultThresholds' over-temperature limit.
const DefaultMaxTemperatureC = 85

// DefaultThresholds are the limits the worker drains a GPU on.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MaxTemperatureC: DefaultMaxTemperatureC,
		IgnoredXIDs:     []uint64{13, 31, 43, 45},
	}
}

// Health reports whether d is fit for work under th, and why not. Only the
// last XID is known, so an ignored XID that follows a critical one hides
// it; the XID count still shows in the metrics.
func Health(d Device, th Thresholds) (ok bool, reasons []string) {
	if d.XIDCount > 0 && !slices.Contains(th.IgnoredXIDs, d.LastXID) {
		reasons = append(reasons, fmt.Sprintf("xid %d (%d xid events)", d.LastXID, d.XIDCount))
	}
	if d.ECCUncorrected > th.MaxUncorrectedECC {
		reasons = append(reasons, fmt.Sprintf("%d uncorrected ecc errors (max %d)", d.ECCUncorrected, th.MaxUncorrectedECC))
	}
	if th.MaxTemperatureC > 0 && d.TemperatureC > th.MaxTemperatureC {
		reasons = append(reasons, fmt.Sprintf("temperature %d C over %d C", d.TemperatureC, th.MaxTemperatureC))
	}
	return len(reasons) == 0, reasons
}
