//go:build cgo

package gpu

import (
	"context"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// xidWaitMillis bounds one blocking nvml EventSet.Wait, and so how long
// Close waits for the watcher: NVML offers no way to interrupt a Wait.
const xidWaitMillis = 250

// xidRetryDelay spaces out retries when Wait fails with something other
// than a timeout (GPU lost, driver reloaded), so a broken driver does not
// spin a core.
const xidRetryDelay = time.Second

// xidWatcher owns the goroutine that blocks on NVML's event set for XID
// critical errors. XIDs are events, not counters: polling misses them, so
// they are collected as they happen and read back by Snapshot.
type xidWatcher struct {
	set    nvml.EventSet
	cancel context.CancelFunc
	done   chan struct{}
}

// startXIDWatcher registers every device of r for XID events and starts
// the watcher. It returns nil, logging why, when the driver offers no
// events; XID metrics then stay at zero. The watcher lives until stop, not
// until ctx is cancelled: ctx is only the caller's open deadline.
func startXIDWatcher(ctx context.Context, r *reader) *xidWatcher {
	set, ret := r.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		r.logger.Warn("xid events unavailable", "err", ret)
		return nil
	}
	registered := 0
	for i, h := range r.devs {
		if ret := h.RegisterEvents(nvml.EventTypeXidCriticalError, set); ret != nvml.SUCCESS {
			r.logger.Warn("xid events unsupported", "gpu", i, "err", ret)
			continue
		}
		registered++
	}
	if registered == 0 {
		_ = set.Free()
		return nil
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &xidWatcher{set: set, cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, r)
	return w
}

func (w *xidWatcher) run(ctx context.Context, r *reader) {
	defer close(w.done)
	for ctx.Err() == nil {
		data, ret := w.set.Wait(xidWaitMillis)
		switch ret {
		case nvml.SUCCESS:
			if data.EventType&nvml.EventTypeXidCriticalError == 0 || data.Device == nil {
				continue
			}
			uuid, ret := data.Device.GetUUID()
			if ret != nvml.SUCCESS {
				r.logger.Warn("xid event from unnamed gpu", "xid", data.EventData, "err", ret)
				continue
			}
			r.recordXID(uuid, data.EventData)
		case nvml.ERROR_TIMEOUT:
		default:
			r.logger.Error("wait for xid events", "err", ret)
			t := time.NewTimer(xidRetryDelay)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// stop ends the watcher, waits for it, then frees the event set (never
// while a Wait may still be using it).
func (w *xidWatcher) stop() {
	w.cancel()
	<-w.done
	_ = w.set.Free()
}
