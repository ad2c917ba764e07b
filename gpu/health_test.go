package gpu

import (
	"slices"
	"testing"
)

func TestHealth(t *testing.T) {
	th := DefaultThresholds()
	tests := []struct {
		name    string
		dev     Device
		th      Thresholds
		ok      bool
		reasons []string
	}{
		{"healthy", Device{TemperatureC: 60, ECCCorrected: 12}, th, true, nil},
		{"critical xid", Device{LastXID: 79, XIDCount: 2}, th, false, []string{"xid 79 (2 xid events)"}},
		{"application xid ignored", Device{LastXID: 13, XIDCount: 1}, th, true, nil},
		{"uncorrected ecc", Device{ECCUncorrected: 1}, th, false, []string{"1 uncorrected ecc errors (max 0)"}},
		{"ecc under custom limit", Device{ECCUncorrected: 1}, Thresholds{MaxUncorrectedECC: 4}, true, nil},
		{"over temperature", Device{TemperatureC: 92}, th, false, []string{"temperature 92 C over 85 C"}},
		{"at the limit", Device{TemperatureC: 85}, th, true, nil},
		{"no temperature limit", Device{TemperatureC: 120}, Thresholds{}, true, nil},
		{"everything", Device{TemperatureC: 90, ECCUncorrected: 2, LastXID: 48, XIDCount: 1}, th, false, []string{
			"xid 48 (1 xid events)", "2 uncorrected ecc errors (max 0)", "temperature 90 C over 85 C"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reasons := Health(tt.dev, tt.th)
			if ok != tt.ok || !slices.Equal(reasons, tt.reasons) {
				t.Errorf("Health() = %v, %q; want %v, %q", ok, reasons, tt.ok, tt.reasons)
			}
		})
	}
}
