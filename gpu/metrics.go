package gpu

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Labels dcgm-exporter puts on every device series; dashboards and alerts
// written for it select on these, so the spelling (UUID, modelName,
// Hostname, GPU_I_ID) is kept even where Prometheus style would say
// snake_case. GPU_I_PROFILE and GPU_I_ID name a MIG instance; on a whole
// GPU's series they are empty, which Prometheus stores as absent, so the
// stored series are the ones dcgm-exporter's would be.
var deviceLabels = []string{"gpu", "UUID", "device", "modelName", "GPU_I_PROFILE", "GPU_I_ID", "Hostname"}

// Label names, for callers that select series of one GPU or MIG instance.
const (
	LabelGPU        = "gpu"
	LabelUUID       = "UUID"
	LabelMIGProfile = "GPU_I_PROFILE"
	LabelMIGID      = "GPU_I_ID"
)

// metric is one dcgm-exporter field: its name, help and type as
// dcgm-exporter's default counters declare them, and how to read it.
type metric struct {
	name      string
	help      string
	valueType prometheus.ValueType
	value     func(Device) float64
	// mig, when set, also reads the field per MIG instance: dcgm-exporter
	// reports frame buffer use per GPU instance; the rest of the fields
	// (temperature, power, ECC, XID) belong to the physical GPU.
	mig func(MIGInstance) float64
}

const mib = 1 << 20

// Series names, exported for dashboards and tests that must agree with
// what the exporter emits.
const (
	MetricGPUUtil        = "DCGM_FI_DEV_GPU_UTIL"
	MetricMemCopyUtil    = "DCGM_FI_DEV_MEM_COPY_UTIL"
	MetricFBUsed         = "DCGM_FI_DEV_FB_USED"
	MetricFBFree         = "DCGM_FI_DEV_FB_FREE"
	MetricGPUTemp        = "DCGM_FI_DEV_GPU_TEMP"
	MetricPowerUsage     = "DCGM_FI_DEV_POWER_USAGE"
	MetricSMClock        = "DCGM_FI_DEV_SM_CLOCK"
	MetricXIDErrors      = "DCGM_FI_DEV_XID_ERRORS"
	MetricECCSBEVolatile = "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL"
	MetricECCDBEVolatile = "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"
)

var metrics = []metric{
	{MetricGPUUtil, "GPU utilization (in %).", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.GPUUtilPercent) }, nil},
	{MetricMemCopyUtil, "Memory utilization (in %).", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.MemCopyUtilPercent) }, nil},
	{MetricFBUsed, "Framebuffer memory used (in MiB).", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.MemoryUsedBytes / mib) },
		func(m MIGInstance) float64 { return float64(m.MemoryUsedBytes / mib) }},
	{MetricFBFree, "Framebuffer memory free (in MiB).", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.MemoryFreeBytes / mib) },
		func(m MIGInstance) float64 {
			return float64((m.MemoryTotalBytes - min(m.MemoryUsedBytes, m.MemoryTotalBytes)) / mib)
		}},
	{MetricGPUTemp, "GPU temperature (in C).", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.TemperatureC) }, nil},
	{MetricPowerUsage, "Power draw (in W).", prometheus.GaugeValue,
		func(d Device) float64 { return d.PowerW }, nil},
	{MetricSMClock, "SM clock frequency (in MHz).", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.SMClockMHz) }, nil},
	{MetricXIDErrors, "Value of the last XID error encountered.", prometheus.GaugeValue,
		func(d Device) float64 { return float64(d.LastXID) }, nil},
	{MetricECCSBEVolatile, "Total number of single-bit volatile ECC errors.", prometheus.CounterValue,
		func(d Device) float64 { return float64(d.ECCCorrected) }, nil},
	{MetricECCDBEVolatile, "Total number of double-bit volatile ECC errors.", prometheus.CounterValue,
		func(d Device) float64 { return float64(d.ECCUncorrected) }, nil},
}

// MetricNames lists every series the collector emits, in emission order.
func MetricNames() []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.name
	}
	return out
}

func labelValues(d Device, hostname string) []string {
	return []string{strconv.Itoa(d.Index), d.UUID, d.DeviceName(), d.Name, "", "", hostname}
}

// migLabelValues label a MIG instance's series as dcgm-exporter does: the
// parent's gpu, UUID and device, plus the instance's profile and id.
func migLabelValues(d Device, m MIGInstance, hostname string) []string {
	return []string{strconv.Itoa(d.Index), d.UUID, d.DeviceName(), d.Name, m.Profile, strconv.Itoa(m.ID), hostname}
}
