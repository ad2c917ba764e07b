//go:build cgo

package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// reader turns an nvml.Interface into snapshots. It is the one code path
// for the real driver and the simulator, so what the tests see through the
// simulator is what a GPU node runs.
type reader struct {
	lib    nvml.Interface
	logger *slog.Logger
	devs   []nvml.Device
	infos  []Info
	migs   [][]nvml.Device // MIG device handles, parallel to infos[i].MIG
	byUUID map[string]int

	mu   sync.Mutex
	xids []xidState // by position in devs

	watch *xidWatcher // nil when events are unsupported
}

type xidState struct{ last, count uint64 }

// newReader initialises lib and enumerates its devices. A failing Init or
// zero devices is ErrNoGPU; a missing libnvidia-ml.so.1 also ErrNoDriver.
// The returned reader owns lib until Close.
func newReader(ctx context.Context, lib nvml.Interface, logger *slog.Logger) (*reader, error) {
	switch ret := lib.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return nil, fmt.Errorf("%w: %w", ErrNoGPU, ErrNoDriver)
	default:
		return nil, fmt.Errorf("%w: nvml init: %w", ErrNoGPU, ret)
	}
	r, err := enumerate(lib, logger)
	if err != nil {
		_ = lib.Shutdown()
		return nil, err
	}
	r.watch = startXIDWatcher(ctx, r)
	return r, nil
}

func enumerate(lib nvml.Interface, logger *slog.Logger) (*reader, error) {
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("count devices: %w", ret)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: driver reports 0 devices", ErrNoGPU)
	}
	r := &reader{lib: lib, logger: logger, byUUID: make(map[string]int, n), xids: make([]xidState, n)}
	for i := range n {
		h, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("device %d: get handle: %w", i, ret)
		}
		info, err := readInfo(h, i)
		if err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		mig, handles, err := readMIG(h, info.MemoryTotalBytes)
		if err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		info.MIG = mig
		r.devs = append(r.devs, h)
		r.infos = append(r.infos, info)
		r.migs = append(r.migs, handles)
		r.byUUID[info.UUID] = i
	}
	return r, nil
}

func readInfo(h nvml.Device, index int) (Info, error) {
	var errs []error
	info := Info{Index: index, Minor: index}
	info.UUID = field(&errs, "uuid", h.GetUUID)
	info.Name = field(&errs, "name", h.GetName)
	if minor, ret := h.GetMinorNumber(); ret == nvml.SUCCESS {
		info.Minor = minor
	}
	info.MemoryTotalBytes = field(&errs, "memory info", h.GetMemoryInfo).Total
	return info, errors.Join(errs...)
}

// field calls get and keeps its value; NOT_SUPPORTED reads as zero (a
// consumer card has no ECC), any other failure is recorded in errs.
func field[T any](errs *[]error, what string, get func() (T, nvml.Return)) T {
	v, ret := get()
	switch ret {
	case nvml.SUCCESS:
		return v
	case nvml.ERROR_NOT_SUPPORTED:
	default:
		*errs = append(*errs, fmt.Errorf("read %s: %w", what, ret))
	}
	var zero T
	return zero
}

// Devices implements Backend.
func (r *reader) Devices(context.Context) ([]Info, error) {
	out := slices.Clone(r.infos)
	for i := range out {
		out[i].MIG = slices.Clone(out[i].MIG)
	}
	return out, nil
}

// Snapshot implements Backend: one full read of every device.
func (r *reader) Snapshot(ctx context.Context) ([]Device, error) {
	out := make([]Device, 0, len(r.devs))
	var errs []error
	for i, h := range r.devs {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("snapshot: %w", context.Cause(ctx))
		}
		d, err := r.readDevice(i, h)
		if err != nil {
			errs = append(errs, fmt.Errorf("gpu %d: %w", i, err))
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

func (r *reader) readDevice(i int, h nvml.Device) (Device, error) {
	var errs []error
	d := Device{Info: r.infos[i]}
	d.MIG = readMIGMemory(&errs, d.MIG, r.migs[i])
	mem := field(&errs, "memory info", h.GetMemoryInfo)
	d.MemoryUsedBytes, d.MemoryFreeBytes = mem.Used, mem.Free
	util := field(&errs, "utilization", h.GetUtilizationRates)
	d.GPUUtilPercent, d.MemCopyUtilPercent = util.Gpu, util.Memory
	d.TemperatureC = field(&errs, "temperature", func() (uint32, nvml.Return) {
		return h.GetTemperature(nvml.TEMPERATURE_GPU)
	})
	d.PowerW = float64(field(&errs, "power usage", h.GetPowerUsage)) / 1000 // NVML reports mW
	d.SMClockMHz = field(&errs, "sm clock", func() (uint32, nvml.Return) {
		return h.GetClockInfo(nvml.CLOCK_SM)
	})
	d.ECCCorrected = field(&errs, "ecc corrected", func() (uint64, nvml.Return) {
		return h.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_CORRECTED, nvml.VOLATILE_ECC)
	})
	d.ECCUncorrected = field(&errs, "ecc uncorrected", func() (uint64, nvml.Return) {
		return h.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC)
	})
	for _, p := range field(&errs, "processes", h.GetComputeRunningProcesses) {
		used := p.UsedGpuMemory
		if used == math.MaxUint64 { // NVML_VALUE_NOT_AVAILABLE, e.g. under WDDM
			used = 0
		}
		d.Processes = append(d.Processes, Process{PID: p.Pid, UsedMemoryBytes: used})
	}
	r.mu.Lock()
	d.LastXID, d.XIDCount = r.xids[i].last, r.xids[i].count
	r.mu.Unlock()
	return d, errors.Join(errs...)
}

// recordXID counts an XID event for the device with uuid.
func (r *reader) recordXID(uuid string, xid uint64) {
	i, ok := r.byUUID[uuid]
	if !ok {
		r.logger.Warn("xid event for unknown gpu", "uuid", uuid, "xid", xid)
		return
	}
	r.mu.Lock()
	r.xids[i].last = xid
	r.xids[i].count++
	r.mu.Unlock()
	r.logger.Warn("gpu xid event", "gpu", i, "uuid", uuid, "xid", xid)
}

// Close stops the XID watcher, then shuts NVML down.
func (r *reader) Close() error {
	if r.watch != nil {
		r.watch.stop()
	}
	if ret := r.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("nvml shutdown: %w", ret)
	}
	return nil
}
