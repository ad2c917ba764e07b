package manifests

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestDashboardUsesOnlyExportedSeries reads the dashboard as deployed (the
// generated ConfigMap carrying the grafana_dashboard label) and checks
// that every query names only series hintfleet exports.
func TestDashboardUsesOnlyExportedSeries(t *testing.T) {
	objs := build(t, "base")
	cm := find[*corev1.ConfigMap](t, objs, "ConfigMap", "hintfleet-grafana-dashboard")
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels = %v, want grafana_dashboard=1 for the Grafana sidecar", cm.Labels)
	}
	var dash struct {
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal([]byte(cm.Data["hintfleet.json"]), &dash); err != nil {
		t.Fatalf("dashboard json: %v", err)
	}
	known := KnownSeries()
	used := map[string]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				names := metricNames(tg.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no series", p.Title, tg.Expr)
				}
				for _, n := range names {
					used[n] = true
					if !known[n] {
						t.Errorf("panel %q: query %q uses %q, which hintfleet does not export", p.Title, tg.Expr, n)
					}
				}
			}
		}
	}
	walk(dash.Panels)
	for _, s := range []string{"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", SeriesTokensTotal, SeriesTasksInFlight} {
		if !used[s] {
			t.Errorf("dashboard does not show %s", s)
		}
	}
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum(rate(hintfleet_tokens_total[$__rate_interval]))`, []string{"hintfleet_tokens_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(x_bucket{job="a b", le!="+Inf"}[5m])))`, []string{"x_bucket"}},
		{`DCGM_FI_DEV_FB_USED{Hostname=~"$node"} / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)`, []string{"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}},
		{`max without (gpu) (a) > 0 and on (Hostname) b offset 5m`, []string{"a", "b"}},
		{`sum(rate(t[1m])) * 60`, []string{"t"}},
		{`increase(e[1h]) unless ignoring(x) group_left f`, []string{"e", "f"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

var (
	quotedRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	matchersRE = regexp.MustCompile(`\{[^}]*\}`)
	rangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	groupingRE = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	identRE    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	offsetRE   = regexp.MustCompile(`\boffset\s+\S+`)
)

// promqlWords are PromQL keywords; functions are told apart by the "("
// that follows them.
var promqlWords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
}

// metricNames extracts the series names a PromQL expression selects,
// loosely: strings, label matchers, ranges and grouping clauses are cut
// out, then every identifier that is neither a keyword nor a function call
// is a series name. Good enough for a dashboard we write ourselves.
func metricNames(expr string) []string {
	s := quotedRE.ReplaceAllString(expr, `""`)
	s = matchersRE.ReplaceAllString(s, " ")
	s = rangeRE.ReplaceAllString(s, " ")
	s = offsetRE.ReplaceAllString(s, " ")
	s = groupingRE.ReplaceAllString(s, " ")
	var out []string
	for _, m := range identRE.FindAllStringSubmatch(s, -1) {
		name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[0]), "("))
		if m[1] != "" || promqlWords[strings.ToLower(name)] || slices.Contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	return out
}
