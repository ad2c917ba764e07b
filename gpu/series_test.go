package gpu

import (
	"slices"
	"sort"
	"testing"

	"github.com/hintfleet/hintfleet/manifests"
)

// TestSeriesMatchManifests keeps the series the dashboard may use
// (manifests.DCGMSeries) equal to what the collector emits. It lives here,
// not in manifests, because the manifests tests link kustomize, which
// imports Go's plugin package; that forces immediate symbol binding, and
// go-nvml relies on lazy binding of libnvidia-ml symbols.
func TestSeriesMatchManifests(t *testing.T) {
	got, want := MetricNames(), manifests.DCGMSeries()
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("collector emits %q, manifests.DCGMSeries lists %q", got, want)
	}
}
