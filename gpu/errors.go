package gpu

import "errors"

var (
	// ErrNoGPU means no NVIDIA driver or device is usable on this machine:
	// the binary was built without the nvml tag, libnvidia-ml.so is absent,
	// or nvml.Init failed. Open turns it into an empty Source unless
	// Options.RequireGPU is set, so a GPU-less node runs, reporting nothing.
	ErrNoGPU = errors.New("no GPU available")

	// ErrNoSimulation means the simulator was asked for in a build without
	// cgo; go-nvml's mock devices, which it is built on, need cgo.
	ErrNoSimulation = errors.New("GPU simulation needs a cgo build")

	// ErrClosed is returned by a Source or Simulator used after Close.
	ErrClosed = errors.New("gpu source closed")
)
