// Package gpu watches a node's NVIDIA GPUs and exports what it sees to
// Prometheus under the names dcgm-exporter uses, so dashboards and alerts
// written for dcgm-exporter work unchanged against hintfleet workers.
//
// There is one reading path: the code that turns an nvml.Interface into
// Device snapshots (reader.go) is the same for a real driver and for the
// simulator, which is an nvml.Interface built on go-nvml's own mock devices.
// The real driver is read by every cgo build, with no build tag: go-nvml
// dlopens libnvidia-ml.so.1 when Open calls Init, not at link time, so the
// binary starts on a machine without a driver, says "no NVIDIA driver
// (libnvidia-ml.so.1 not found)" once at warning level, and reports no
// GPUs (Options.RequireGPU makes that an error). The simulator is used only
// when asked for (Options.Simulate).
//
// go-nvml's packages (the mock included) need cgo. Without cgo the package
// still builds: Open reports that the binary was built without cgo
// (ErrNoCgo) and refuses to simulate.
//
// GPUs in MIG mode are listed with their GPU instances (Info.MIG), and
// their frame buffer series carry dcgm-exporter's GPU_I_PROFILE and
// GPU_I_ID labels. ParseDeviceList and Resolve map an engine's device
// list (CUDA_VISIBLE_DEVICES syntax) to GPUs and MIG instances, so the
// worker drains only the engines a faulty GPU serves.
//
// Layout: device.go (snapshot types, health), backend.go (Open, Source),
// reader.go, mig.go and xid.go (nvml.Interface → snapshots, MIG instances,
// XID events), assign.go (engine device lists), sim*.go (the simulator),
// collector.go and metrics.go (poller and Prometheus collector),
// exporter.go (/metrics server), list.go (table for the CLI).
package gpu
