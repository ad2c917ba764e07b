package gpu

import (
	"fmt"
	"strconv"
	"strings"
)

// Ref names one device an engine runs on: a whole GPU (MIG < 0) or one
// MIG GPU instance of it.
type Ref struct {
	// GPU is the NVML index of the physical GPU.
	GPU int
	// MIG is the GPU instance id (GPU_I_ID), or -1 for the whole GPU.
	MIG int
}

// String writes r as the worker's status and `hintfleet top` show it:
// "1" for GPU 1, "1:3" for GPU instance 3 on GPU 1.
func (r Ref) String() string {
	if r.MIG < 0 {
		return strconv.Itoa(r.GPU)
	}
	return fmt.Sprintf("%d:%d", r.GPU, r.MIG)
}

// ParseDeviceList splits a device list written as CUDA_VISIBLE_DEVICES is
// ("0,1", "GPU-8f3c…,GPU-1a2b…", "MIG-5d7e…"): comma-separated NVML
// indexes, GPU UUIDs (or a unique prefix of one, as CUDA accepts) and MIG
// device UUIDs. Spaces around entries are ignored; an empty entry is an
// error. The list is checked against the machine's devices by Resolve.
func ParseDeviceList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("device list: empty")
	}
	var out []string
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			return nil, fmt.Errorf("device list %q: entry %d: empty", s, i+1)
		case strings.HasPrefix(f, "GPU-"), strings.HasPrefix(f, "MIG-"):
		default:
			if n, err := strconv.Atoi(f); err != nil || n < 0 {
				return nil, fmt.Errorf("device list %q: entry %d %q: want an index, GPU-… or MIG-… UUID", s, i+1, f)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// Resolve maps selectors (ParseDeviceList's entries) to the devices in
// infos. Indexes are NVML's, which follow PCI bus order: CUDA numbers
// devices fastest-first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, so an engine
// started with indexes should run with that setting, or be named by UUID.
// An index or GPU UUID of a GPU in MIG mode means all its instances. A
// selector naming nothing here is an error wrapping ErrUnknownDevice; a
// device named twice is listed once.
func Resolve(selectors []string, infos []Info) ([]Ref, error) {
	var out []Ref
	seen := map[Ref]bool{}
	add := func(r Ref) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, sel := range selectors {
		refs, err := resolveOne(sel, infos)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			add(r)
		}
	}
	return out, nil
}

func resolveOne(sel string, infos []Info) ([]Ref, error) {
	whole := func(in Info) []Ref {
		if len(in.MIG) == 0 {
			return []Ref{{GPU: in.Index, MIG: -1}}
		}
		refs := make([]Ref, 0, len(in.MIG))
		for _, m := range in.MIG {
			refs = append(refs, Ref{GPU: in.Index, MIG: m.ID})
		}
		return refs
	}
	switch {
	case strings.HasPrefix(sel, "MIG-"):
		for _, in := range infos {
			for _, m := range in.MIG {
				if m.UUID == sel {
					return []Ref{{GPU: in.Index, MIG: m.ID}}, nil
				}
			}
		}
	case strings.HasPrefix(sel, "GPU-"):
		var match []Info
		for _, in := range infos {
			if strings.HasPrefix(in.UUID, sel) {
				match = append(match, in)
			}
		}
		if len(match) > 1 {
			return nil, fmt.Errorf("gpu %q: prefix of %d GPUs' UUIDs: %w", sel, len(match), ErrUnknownDevice)
		}
		if len(match) == 1 {
			return whole(match[0]), nil
		}
	default:
		n, err := strconv.Atoi(sel)
		if err != nil {
			return nil, fmt.Errorf("gpu %q: want an index, GPU-… or MIG-… UUID: %w", sel, ErrUnknownDevice)
		}
		for _, in := range infos {
			if in.Index == n {
				return whole(in), nil
			}
		}
	}
	return nil, fmt.Errorf("gpu %q: %w (this node has %d)", sel, ErrUnknownDevice, len(infos))
}

// EngineDeviceLists gives each of n engines its device list: lists[i]
// parsed for engine i when lists are given (one per engine, in order),
// else visible (a CUDA_VISIBLE_DEVICES value) for every engine, else none
// (nil: every engine may use every GPU). Errors say which list is bad.
func EngineDeviceLists(lists []string, n int, visible string) ([][]string, error) {
	if len(lists) == 0 {
		if strings.TrimSpace(visible) == "" {
			return nil, nil
		}
		list, err := ParseDeviceList(visible)
		if err != nil {
			return nil, fmt.Errorf("CUDA_VISIBLE_DEVICES: %w", err)
		}
		out := make([][]string, n)
		for i := range out {
			out[i] = list
		}
		return out, nil
	}
	if len(lists) != n {
		return nil, fmt.Errorf("%d device lists for %d engines: give one list per engine, in order", len(lists), n)
	}
	out := make([][]string, n)
	for i, s := range lists {
		list, err := ParseDeviceList(s)
		if err != nil {
			return nil, fmt.Errorf("device list %d %q: %w", i+1, s, err)
		}
		out[i] = list
	}
	return out, nil
}
