package gpu

import "errors"

var (
	// ErrNoGPU means no NVIDIA driver or device is usable on this machine:
	// the binary was built without cgo, libnvidia-ml.so.1 is absent, nvml
	// Init failed, or the driver sees no device. Open turns it into an
	// empty Source unless Options.RequireGPU is set, so a GPU-less node
	// runs, reporting nothing. The errors it wraps say which.
	ErrNoGPU = errors.New("no GPU available")

	// ErrNoDriver is the ErrNoGPU of a machine without the driver's user
	// library: dlopen of libnvidia-ml.so.1 failed. In a container it
	// usually means the NVIDIA container toolkit did not inject the
	// library (no GPU requested, or the runtime class is not nvidia).
	ErrNoDriver = errors.New("no NVIDIA driver (libnvidia-ml.so.1 not found)")

	// ErrNoCgo is the ErrNoGPU of a binary built with CGO_ENABLED=0:
	// go-nvml calls the driver through cgo, so such a binary cannot read
	// GPUs at all.
	ErrNoCgo = errors.New("built without cgo: cannot read GPUs through NVML")

	// ErrNoSimulation means the simulator was asked for in a build without
	// cgo; go-nvml's mock devices, which it is built on, need cgo.
	ErrNoSimulation = errors.New("GPU simulation needs a cgo build")

	// ErrClosed is returned by a Source or Simulator used after Close.
	ErrClosed = errors.New("gpu source closed")

	// ErrUnknownDevice is returned by Resolve for a selector that names no
	// GPU or MIG instance of this machine.
	ErrUnknownDevice = errors.New("no such GPU")
)
