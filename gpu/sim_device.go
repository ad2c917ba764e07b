//go:build cgo

package gpu

import (
	"math"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// simDevice is one simulated GPU. Identity comes from the embedded mock
// device; every method the reader calls is overridden here.
type simDevice struct {
	*server.Device
	index   int
	uuid    string
	weights uint64
	maxSeqs int
	now     func() time.Time

	mu             sync.Mutex
	load           LoadSource
	sets           []*simEventSet
	eccCorrected   uint64
	eccUncorrected uint64
	extraC         float64
	started        bool
	last           time.Time
	tempC, powerW  float64
}

// simSample is one consistent reading of a simulated device.
type simSample struct {
	util, memUtil float64
	tempC, powerW float64
	clockMHz      uint32
	fbUsed        uint64
}

// sample advances the lagged state to now and reads everything at once, so
// the fields of one snapshot agree with each other.
func (d *simDevice) sample() simSample {
	running, _, kv, _ := d.currentLoad()
	util := simUtil(running, d.maxSeqs)
	now := d.now()

	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started {
		d.started, d.last, d.tempC, d.powerW = true, now, simIdleC, simIdleW
	}
	dt := now.Sub(d.last)
	d.last = now
	d.tempC = simApproach(d.tempC, simIdleC+simRiseC*util/100, dt, simTempTau)
	d.powerW = simApproach(d.powerW, simIdleW+(simMaxW-simIdleW)*util/100, dt, simPowerTau)
	s := simSample{
		util:    util,
		memUtil: simMemCopyUtil(util, kv),
		tempC:   d.tempC + d.extraC,
		powerW:  d.powerW,
		fbUsed:  simFBUsed(d.MemoryInfo.Total, d.weights, kv),
	}
	switch {
	case s.tempC > simThrottleC:
		s.clockMHz = simThrottleClockMHz
	case util > 0:
		s.clockMHz = simBoostClockMHz
	default:
		s.clockMHz = simIdleClockMHz
	}
	return s
}

// currentLoad calls the LoadSource outside d.mu: it may take its own locks.
func (d *simDevice) currentLoad() (running, waiting int, kv, tps float64) {
	d.mu.Lock()
	l := d.load
	d.mu.Unlock()
	return l.Load()
}

func (d *simDevice) GetIndex() (int, nvml.Return)       { return d.index, nvml.SUCCESS }
func (d *simDevice) GetMinorNumber() (int, nvml.Return) { return d.index, nvml.SUCCESS }
func (d *simDevice) GetUUID() (string, nvml.Return)     { return d.uuid, nvml.SUCCESS }
func (d *simDevice) GetName() (string, nvml.Return)     { return d.Config.Name, nvml.SUCCESS }

func (d *simDevice) GetMemoryInfo() (nvml.Memory, nvml.Return) {
	total := d.MemoryInfo.Total
	used := d.sample().fbUsed
	return nvml.Memory{Total: total, Used: used, Free: total - used}, nvml.SUCCESS
}

func (d *simDevice) GetUtilizationRates() (nvml.Utilization, nvml.Return) {
	s := d.sample()
	return nvml.Utilization{Gpu: round32(s.util), Memory: round32(s.memUtil)}, nvml.SUCCESS
}

func (d *simDevice) GetTemperature(sensor nvml.TemperatureSensors) (uint32, nvml.Return) {
	if sensor != nvml.TEMPERATURE_GPU {
		return 0, nvml.ERROR_NOT_SUPPORTED
	}
	return round32(d.sample().tempC), nvml.SUCCESS
}

func (d *simDevice) GetPowerUsage() (uint32, nvml.Return) {
	return round32(d.sample().powerW * 1000), nvml.SUCCESS // mW, as NVML
}

func (d *simDevice) GetClockInfo(clock nvml.ClockType) (uint32, nvml.Return) {
	if clock != nvml.CLOCK_SM {
		return 0, nvml.ERROR_NOT_SUPPORTED
	}
	return d.sample().clockMHz, nvml.SUCCESS
}

func (d *simDevice) GetTotalEccErrors(kind nvml.MemoryErrorType, _ nvml.EccCounterType) (uint64, nvml.Return) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch kind {
	case nvml.MEMORY_ERROR_TYPE_CORRECTED:
		return d.eccCorrected, nvml.SUCCESS
	case nvml.MEMORY_ERROR_TYPE_UNCORRECTED:
		return d.eccUncorrected, nvml.SUCCESS
	}
	return 0, nvml.ERROR_INVALID_ARGUMENT
}

// GetComputeRunningProcesses reports the engine: one process holding the
// memory the engine uses.
func (d *simDevice) GetComputeRunningProcesses() ([]nvml.ProcessInfo, nvml.Return) {
	return []nvml.ProcessInfo{{
		Pid:               uint32(simProcessPIDBase + d.index),
		UsedGpuMemory:     d.sample().fbUsed,
		GpuInstanceId:     math.MaxUint32,
		ComputeInstanceId: math.MaxUint32,
	}}, nvml.SUCCESS
}

func (d *simDevice) RegisterEvents(types uint64, set nvml.EventSet) nvml.Return {
	s, ok := set.(*simEventSet)
	if !ok {
		return nvml.ERROR_INVALID_ARGUMENT
	}
	if types&nvml.EventTypeXidCriticalError == 0 {
		return nvml.SUCCESS
	}
	d.mu.Lock()
	d.sets = append(d.sets, s)
	d.mu.Unlock()
	return nvml.SUCCESS
}

func round32(v float64) uint32 {
	if v <= 0 {
		return 0
	}
	return uint32(math.Round(v))
}
