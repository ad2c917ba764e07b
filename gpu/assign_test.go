package gpu

import (
	"errors"
	"slices"
	"testing"
)

func TestParseDeviceList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "0,1", want: []string{"0", "1"}},
		{in: " 3 ", want: []string{"3"}},
		{in: "GPU-8f3c,MIG-5d7e", want: []string{"GPU-8f3c", "MIG-5d7e"}},
		{in: "", bad: true},
		{in: "0,,1", bad: true},
		{in: "-1", bad: true},
		{in: "gpu0", bad: true},
	} {
		got, err := ParseDeviceList(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("ParseDeviceList(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func FuzzParseDeviceList(f *testing.F) {
	for _, s := range []string{"0,1", "GPU-8f3c,MIG-5d7e", "", ",", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDeviceList(s)
		if err != nil {
			return
		}
		if len(got) == 0 {
			t.Fatalf("%q: no error and no entries", s)
		}
		for _, e := range got {
			if e == "" {
				t.Fatalf("%q: empty entry accepted", s)
			}
		}
	})
}

func TestResolve(t *testing.T) {
	infos := []Info{
		{Index: 0, UUID: "GPU-aaaa-0"},
		{Index: 1, UUID: "GPU-aaab-1"},
		{Index: 2, UUID: "GPU-cccc-2", MIG: []MIGInstance{{ID: 1, UUID: "MIG-x1"}, {ID: 2, UUID: "MIG-x2"}}},
	}
	for _, tc := range []struct {
		sel  []string
		want []Ref
		err  bool
	}{
		{sel: []string{"1", "0"}, want: []Ref{{1, -1}, {0, -1}}},
		{sel: []string{"GPU-aaab"}, want: []Ref{{1, -1}}},
		{sel: []string{"GPU-aaa"}, err: true}, // ambiguous prefix
		{sel: []string{"2"}, want: []Ref{{2, 1}, {2, 2}}},
		{sel: []string{"MIG-x2", "2"}, want: []Ref{{2, 2}, {2, 1}}},
		{sel: []string{"0", "GPU-aaaa-0"}, want: []Ref{{0, -1}}},
		{sel: []string{"3"}, err: true},
		{sel: []string{"MIG-nope"}, err: true},
	} {
		got, err := Resolve(tc.sel, infos)
		if tc.err {
			if !errors.Is(err, ErrUnknownDevice) {
				t.Errorf("Resolve(%q) error = %v, want ErrUnknownDevice", tc.sel, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Resolve(%q) = %v, %v; want %v", tc.sel, got, err, tc.want)
		}
	}
	if s := (Ref{GPU: 2, MIG: 1}).String() + " " + (Ref{GPU: 0, MIG: -1}).String(); s != "2:1 0" {
		t.Errorf("Ref strings = %q", s)
	}
}

func TestEngineDeviceLists(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lists   []string
		n       int
		visible string
		want    [][]string
		bad     bool
	}{
		{name: "one list per engine", lists: []string{"0,1", "GPU-x"}, n: 2, want: [][]string{{"0", "1"}, {"GPU-x"}}},
		{name: "visible for every engine", n: 2, visible: "2,3", want: [][]string{{"2", "3"}, {"2", "3"}}},
		{name: "lists over visible", lists: []string{"1"}, n: 1, visible: "2", want: [][]string{{"1"}}},
		{name: "none", n: 3, want: nil},
		{name: "count mismatch", lists: []string{"0"}, n: 2, bad: true},
		{name: "bad entry", lists: []string{"0,,1"}, n: 1, bad: true},
		{name: "bad visible", n: 1, visible: "0,,1", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EngineDeviceLists(tc.lists, tc.n, tc.visible)
			if tc.bad {
				if err == nil {
					t.Errorf("EngineDeviceLists = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal[[]string]) || (got == nil) != (tc.want == nil) {
				t.Errorf("EngineDeviceLists = %v, want %v", got, tc.want)
			}
		})
	}
}
