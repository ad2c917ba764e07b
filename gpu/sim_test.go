//go:build cgo

package gpu

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
)

func TestSimulatorFollowsLoad(t *testing.T) {
	tests := []struct {
		name        string
		load        StaticLoad
		util, mem   uint32
		fbUsedMiB   uint64
		settledTemp uint32
		settledW    float64
		clock       uint32
	}{
		{"idle", StaticLoad{}, 0, 0, 61547, 30, 70, simIdleClockMHz},
		{"quarter of max seqs", StaticLoad{Running: 64, KVUsage: 0.5}, 63, 41, 67637, 58, 468.236, simBoostClockMHz},
		{"saturated, full cache", StaticLoad{Running: 512, Waiting: 40, KVUsage: 1}, 100, 90, 73728, 75, 699.789, simBoostClockMHz},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			_, src := openSim(t, 1, clock, WithSimLoad(tt.load))
			d := snapshot(t, src)[0]
			if d.GPUUtilPercent != tt.util || d.MemCopyUtilPercent != tt.mem {
				t.Errorf("util = %d%%, mem copy = %d%%; want %d%%, %d%%", d.GPUUtilPercent, d.MemCopyUtilPercent, tt.util, tt.mem)
			}
			if got := d.MemoryUsedBytes / mib; got != tt.fbUsedMiB {
				t.Errorf("fb used = %d MiB, want %d", got, tt.fbUsedMiB)
			}
			if d.MemoryUsedBytes+d.MemoryFreeBytes != d.MemoryTotalBytes {
				t.Errorf("used %d + free %d != total %d", d.MemoryUsedBytes, d.MemoryFreeBytes, d.MemoryTotalBytes)
			}
			if d.TemperatureC != simIdleC || d.PowerW != simIdleW {
				t.Errorf("cold start: %d C, %v W; want %v C, %v W", d.TemperatureC, d.PowerW, simIdleC, simIdleW)
			}
			clock.Advance(10 * time.Minute)
			d = snapshot(t, src)[0]
			if d.TemperatureC != tt.settledTemp || d.PowerW != tt.settledW || d.SMClockMHz != tt.clock {
				t.Errorf("settled: %d C, %v W, %d MHz; want %d C, %v W, %d MHz",
					d.TemperatureC, d.PowerW, d.SMClockMHz, tt.settledTemp, tt.settledW, tt.clock)
			}
			if len(d.Processes) != 1 || d.Processes[0].UsedMemoryBytes != d.MemoryUsedBytes {
				t.Errorf("processes = %+v, want one engine holding %d bytes", d.Processes, d.MemoryUsedBytes)
			}
		})
	}
}

// TestSimulatorTemperatureLags checks that heat trails load: a step to
// full load moves temperature about 63% of the way in one time constant.
func TestSimulatorTemperatureLags(t *testing.T) {
	clock := newFakeClock()
	sim, src := openSim(t, 2, clock)
	snapshot(t, src) // start both at idle
	if err := sim.SetLoad(0, StaticLoad{Running: 256}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(simTempTau)
	devs := snapshot(t, src)
	if got := devs[0].TemperatureC; got != 58 { // 30 + 44.2*(1-1/e)
		t.Errorf("loaded gpu after one time constant: %d C, want 58", got)
	}
	if got := devs[1].TemperatureC; got != simIdleC {
		t.Errorf("idle gpu: %d C, want %v", got, simIdleC)
	}
}

func TestSimulatorFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*Simulator) error
		check  func(Device) bool
		reason string
	}{
		{"xid through nvml events", func(s *Simulator) error { return s.InjectXID(1, 79) },
			func(d Device) bool { return d.XIDCount == 1 }, "xid 79 (1 xid events)"},
		{"uncorrected ecc", func(s *Simulator) error { return s.InjectECC(1, 5, 2) },
			func(d Device) bool { return d.ECCUncorrected == 2 && d.ECCCorrected == 5 }, "2 uncorrected ecc errors (max 0)"},
		{"over temperature", func(s *Simulator) error { return s.InjectOverTemperature(1, 60) },
			func(d Device) bool { return d.TemperatureC == 90 }, "temperature 90 C over 85 C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, src := openSim(t, 2, newFakeClock())
			if err := tt.inject(sim); err != nil {
				t.Fatalf("inject: %v", err)
			}
			var devs []Device
			eventually.True(t, 5*time.Second, "fault to show", func() bool {
				devs = snapshot(t, src)
				return tt.check(devs[1])
			})
			ok, reasons := Health(devs[1], DefaultThresholds())
			if ok || len(reasons) != 1 || reasons[0] != tt.reason {
				t.Errorf("faulty gpu health = %v, %q; want false, [%q]", ok, reasons, tt.reason)
			}
			if ok, reasons := Health(devs[0], DefaultThresholds()); !ok {
				t.Errorf("healthy gpu reported unhealthy: %q", reasons)
			}
		})
	}
}

func TestSimulatorThrottlesWhenHot(t *testing.T) {
	sim, src := openSim(t, 1, newFakeClock(), WithSimLoad(StaticLoad{Running: 100}))
	if err := sim.InjectOverTemperature(0, 70); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, src)[0].SMClockMHz; got != simThrottleClockMHz {
		t.Errorf("sm clock = %d MHz, want throttled %d", got, simThrottleClockMHz)
	}
}

func TestSimulatorBadArguments(t *testing.T) {
	if _, err := NewSimulator(0); err == nil {
		t.Error("NewSimulator(0): want error")
	}
	if _, err := NewSimulator(1, WithSimMaxSeqs(0)); err == nil {
		t.Error("WithSimMaxSeqs(0): want error")
	}
	sim, _ := openSim(t, 1, nil)
	if err := sim.InjectXID(3, 79); err == nil {
		t.Error("InjectXID on gpu 3 of 1: want error")
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("simulate", func(t *testing.T) {
		src, err := Open(ctx, Options{Simulate: 4, Model: "x-8B", Load: StaticLoad{Running: 8}})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		infos, err := src.Devices(ctx)
		if err != nil || len(infos) != 4 || !src.Simulated() {
			t.Fatalf("Devices = %d, %v; simulated=%v; want 4 simulated", len(infos), err, src.Simulated())
		}
		if infos[3].Name != "NVIDIA H100 80GB HBM3" || infos[3].DeviceName() != "nvidia3" {
			t.Errorf("device 3 = %+v", infos[3])
		}
		if err := src.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := src.Snapshot(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Snapshot after Close: %v, want ErrClosed", err)
		}
	})
	t.Run("negative simulate", func(t *testing.T) {
		if _, err := Open(ctx, Options{Simulate: -1}); err == nil {
			t.Error("want error")
		}
	})
}
