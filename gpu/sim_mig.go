//go:build cgo

package gpu

import (
	"fmt"
	"slices"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// simMIGUUIDFormat names simulated MIG devices: parent index, GI id.
const simMIGUUIDFormat = "MIG-5151a000-0000-4000-8000-%06d%06d"

// WithSimMIG puts simulated GPU gpu in MIG mode with one GPU instance per
// profile, named as nvidia-smi names them ("1g.10gb", "3g.40gb"). The
// instances are created through go-nvml's mock (SetMigMode,
// CreateGpuInstance), so the reader finds them as it would on a driver.
func WithSimMIG(gpu int, profiles ...string) SimOption {
	return func(c *simConfig) error {
		if gpu < 0 {
			return fmt.Errorf("sim mig: gpu %d: want >= 0", gpu)
		}
		if len(profiles) == 0 {
			return fmt.Errorf("sim mig: gpu %d: no profiles", gpu)
		}
		if c.mig == nil {
			c.mig = map[int][]string{}
		}
		c.mig[gpu] = append(c.mig[gpu], profiles...)
		return nil
	}
}

// enableMIG creates the instances WithSimMIG asked for on d.
func (d *simDevice) enableMIG(profiles []string) error {
	if ret, _ := d.SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		return fmt.Errorf("simulated gpu %d: enable mig: %w", d.index, ret)
	}
	for _, name := range profiles {
		prof, err := d.profileByName(name)
		if err != nil {
			return err
		}
		if _, ret := d.CreateGpuInstance(&prof); ret != nvml.SUCCESS {
			return fmt.Errorf("simulated gpu %d: create %s: %w", d.index, name, ret)
		}
	}
	return nil
}

func (d *simDevice) profileByName(name string) (nvml.GpuInstanceProfileInfo, error) {
	var names []string
	for p := range nvml.GPU_INSTANCE_PROFILE_COUNT {
		prof, ret := d.GetGpuInstanceProfileInfo(p)
		if ret != nvml.SUCCESS {
			continue
		}
		n := migProfileName(prof, d.MemoryInfo.Total)
		if n == name {
			return prof, nil
		}
		names = append(names, n)
	}
	return nvml.GpuInstanceProfileInfo{}, fmt.Errorf("simulated gpu %d: mig profile %q: want one of %v", d.index, name, names)
}

// GetMaxMigDeviceCount and GetMigDeviceHandleByIndex are what the mock
// lacks: MIG device handles, one per GPU instance, in GI id order.
func (d *simDevice) GetMaxMigDeviceCount() (int, nvml.Return) {
	mode, _, _ := d.GetMigMode()
	if mode != nvml.DEVICE_MIG_ENABLE {
		return 0, nvml.SUCCESS
	}
	return 7, nvml.SUCCESS
}

func (d *simDevice) GetMigDeviceHandleByIndex(i int) (nvml.Device, nvml.Return) {
	d.Device.RLock()
	ids := make([]*server.GpuInstance, 0, len(d.GpuInstances))
	for gi := range d.GpuInstances {
		ids = append(ids, gi)
	}
	d.Device.RUnlock()
	slices.SortFunc(ids, func(a, b *server.GpuInstance) int { return int(a.Info.Id) - int(b.Info.Id) })
	if i < 0 || i >= len(ids) {
		return nil, nvml.ERROR_NOT_FOUND
	}
	gi := ids[i]
	prof, _ := d.GetGpuInstanceProfileInfo(int(gi.Info.ProfileId))
	return &simMIGDevice{parent: d, id: int(gi.Info.Id), total: prof.MemorySizeMB * mib}, nvml.SUCCESS
}

// simMIGDevice is one MIG device of a simulated GPU. Its memory use is
// its share of the engine's KV cache, as a vLLM pinned to it would fill.
type simMIGDevice struct {
	*mock.Device // anything the reader does not call panics, loudly
	parent       *simDevice
	id           int
	total        uint64
}

func (m *simMIGDevice) GetGpuInstanceId() (int, nvml.Return) { return m.id, nvml.SUCCESS }

func (m *simMIGDevice) GetUUID() (string, nvml.Return) {
	return fmt.Sprintf(simMIGUUIDFormat, m.parent.index, m.id), nvml.SUCCESS
}

func (m *simMIGDevice) GetMemoryInfo() (nvml.Memory, nvml.Return) {
	_, _, kv, _ := m.parent.currentLoad()
	used := uint64(float64(m.total) * min(max(kv, 0), 1))
	return nvml.Memory{Total: m.total, Used: used, Free: m.total - used}, nvml.SUCCESS
}
