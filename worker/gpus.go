package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/gpu"
)

// GPUs belong to engines: each slot knows the devices its engine runs on
// (Config.EngineGPUs, resolved against the node's GPUs when Run starts),
// and a GPU fault drains only the engines on that GPU. An engine whose
// devices are not known is taken to use every GPU of the node, so any
// fault drains it: the safe guess, and the behaviour of a worker with one
// engine on all the node's GPUs, the usual case.

// resolveGPUs maps Config.EngineGPUs to the node's devices. With no GPUs
// to map against (a node without driver, not --require-gpu) the lists are
// ignored, once, with a warning: there are no GPU faults to drain on.
func (w *Worker) resolveGPUs(ctx context.Context) error {
	if len(w.cfg.EngineGPUs) == 0 || w.cfg.GPU == nil {
		return nil
	}
	infos, err := w.cfg.GPU.Devices(ctx)
	if err != nil {
		return fmt.Errorf("worker %s: list gpus: %w", w.cfg.ID, err)
	}
	if len(infos) == 0 {
		w.log.Warn("engine gpus given but this node has no GPU: ignored", "worker", w.cfg.ID)
		return nil
	}
	for i, sel := range w.cfg.EngineGPUs {
		if len(sel) == 0 {
			continue
		}
		refs, err := gpu.Resolve(sel, infos)
		if err != nil {
			return fmt.Errorf("%w: engines[%d] %s: gpus %s: %w", ErrInvalidConfig, i, w.slots[i].eng.URL(), strings.Join(sel, ","), err)
		}
		w.slots[i].gpus.Store(&refs)
	}
	return nil
}

// onGPU reports whether s's engine runs on physical GPU index (on it
// whole or on one of its MIG instances); an engine with no known devices
// runs on every GPU.
func (s *slot) onGPU(index int) bool {
	refs := s.gpus.Load()
	if refs == nil {
		return true
	}
	return slices.ContainsFunc(*refs, func(r gpu.Ref) bool { return r.GPU == index })
}

// onMIG reports whether s's engine was given MIG instance id of GPU index.
func (s *slot) onMIG(index, id int) bool {
	refs := s.gpus.Load()
	if refs == nil {
		return true
	}
	return slices.Contains(*refs, gpu.Ref{GPU: index, MIG: id})
}

// gpuRefs names s's devices for Status and metrics ("0", "1:2"); nil when
// they are not known.
func (s *slot) gpuRefs() []string {
	refs := s.gpus.Load()
	if refs == nil {
		return nil
	}
	out := make([]string, len(*refs))
	for i, r := range *refs {
		out[i] = r.String()
	}
	return out
}

// gpuFaults sets each slot's GPU fault from one poll's verdicts (GPU index
// → why it is unhealthy) and reports the slots whose fault began or ended.
func (w *Worker) gpuFaults(bad map[int]string) (changed []*slot) {
	idx := make([]int, 0, len(bad))
	for i := range bad {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, s := range w.slots {
		var hit []string
		for _, i := range idx {
			if s.onGPU(i) {
				hit = append(hit, bad[i])
			}
		}
		prev := s.gpuFault.Load()
		if len(hit) == 0 {
			if prev != nil {
				s.gpuFault.Store(nil)
				changed = append(changed, s)
			}
			continue
		}
		msg := strings.Join(hit, "; ")
		if prev == nil || *prev != msg {
			s.gpuFault.Store(&msg)
			if prev == nil {
				changed = append(changed, s)
			}
		}
	}
	return changed
}

// gpuInfo is d as the registration reports it, with the engines on it and
// on each of its MIG instances: the mapping /v1/workers shows.
func (w *Worker) gpuInfo(d gpu.Device, ok bool, why []string) cluster.GPUInfo {
	const mib = 1 << 20
	g := cluster.GPUInfo{
		Index: d.Index, UUID: d.UUID, Name: d.Name, UtilPercent: float64(d.GPUUtilPercent),
		MemUsedMiB: float64(d.MemoryUsedBytes) / mib, MemTotalMiB: float64(d.MemoryTotalBytes) / mib,
		TempC: float64(d.TemperatureC), Healthy: ok, Reasons: why,
	}
	for _, s := range w.slots {
		if s.onGPU(d.Index) {
			g.Engines = append(g.Engines, s.eng.URL())
		}
	}
	for _, m := range d.MIG {
		mi := cluster.MIGInfo{ID: m.ID, Profile: m.Profile, UUID: m.UUID,
			MemUsedMiB: float64(m.MemoryUsedBytes) / mib, MemTotalMiB: float64(m.MemoryTotalBytes) / mib}
		for _, s := range w.slots {
			if s.onMIG(d.Index, m.ID) {
				mi.Engines = append(mi.Engines, s.eng.URL())
			}
		}
		g.MIG = append(g.MIG, mi)
	}
	return g
}
