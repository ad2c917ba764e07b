// Package gpu watches a node's NVIDIA GPUs and exports what it sees to
// Prometheus under the names dcgm-exporter uses, so dashboards and alerts
// written for dcgm-exporter work unchanged against hintfleet workers.
//
// There is one reading path: the code that turns an nvml.Interface into
// Device snapshots (reader.go) is the same for a real driver and for the
// simulator, which is an nvml.Interface built on go-nvml's own mock devices.
// The real driver is linked only with the "nvml" build tag; go-nvml loads
// libnvidia-ml.so lazily, so a binary built with the tag still starts on a
// machine without a driver and simply reports no GPUs.
//
// go-nvml's packages (the mock included) need cgo. Without cgo the package
// still builds: Open reports no GPUs and refuses to simulate.
//
// Layout: device.go (snapshot types, health), backend.go (Open, Source),
// reader.go and xid.go (nvml.Interface → snapshots, XID events), sim*.go
// (the simulator), collector.go and metrics.go (poller and Prometheus
// collector), exporter.go (/metrics server), list.go (table for the CLI).
package gpu
