package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/hintfleet/hintfleet/curate"
)

// Input is everything one report shows; any part may be empty.
type Input struct {
	Title string
	// Runs are compared per dataset (plain vs hinted vs RFT, in this order).
	Runs []*Run
	// Curation, when set, gives the funnel and rewrite diffs.
	Curation *curate.Report
	RFT      *curate.RFTStats
	Now      time.Time
}

type page struct {
	Title     string
	Generated string
	Accuracy  template.HTML
	Scaling   template.HTML
	ToolCalls template.HTML
	Funnel    template.HTML
	Table     []row
	Diffs     []string
	RFT       *curate.RFTStats
	Curation  *curate.Report
}

type row struct {
	Run, Dataset                  string
	N, Graded                     int
	Accuracy, Tokens, Tools, Hint string
}

// Write renders the report as one self-contained HTML page.
func Write(w io.Writer, in Input) error {
	p := page{Title: in.Title, Generated: in.Now.UTC().Format(time.RFC3339), RFT: in.RFT, Curation: in.Curation}
	if p.Title == "" {
		p.Title = "hintfleet report"
	}
	if len(in.Runs) > 0 {
		cats := append(DatasetNames(in.Runs), "all")
		var series []string
		for _, r := range in.Runs {
			series = append(series, r.Label)
		}
		stat := func(c, s int) *DatasetStats {
			if cats[c] == "all" {
				return &in.Runs[s].Total
			}
			if d := in.Runs[s].Datasets[cats[c]]; d != nil {
				return d
			}
			return &DatasetStats{}
		}
		p.Accuracy = groupedBars("accuracy", "Accuracy per dataset", cats, series,
			func(c, s int) float64 { return stat(c, s).Accuracy() }, 1, pct)
		for _, r := range in.Runs {
			for _, name := range append(sortedKeys(r.Datasets), "all") {
				d := r.Datasets[name]
				if name == "all" {
					d = &r.Total
				}
				p.Table = append(p.Table, row{
					Run: r.Label, Dataset: name, N: d.N, Graded: d.Graded,
					Accuracy: fmt.Sprintf("%.1f%%", 100*d.Accuracy()),
					Tokens:   fmt.Sprintf("%.0f", d.TokensPerTrajectory()),
					Tools:    fmt.Sprintf("%.2f", ratio(d.ToolCalls, d.N)),
					Hint:     fmt.Sprintf("%.2f", ratio(d.Hints, d.N)),
				})
			}
		}
		p.Scaling = scaling(in.Runs)
		p.ToolCalls = toolCalls(in.Runs)
	}
	if in.Curation != nil {
		labels := []string{"input"}
		vals := []float64{float64(in.Curation.Funnel.In)}
		left := in.Curation.Funnel.In
		for _, st := range in.Curation.Funnel.Stages {
			left -= st.Removed
			labels = append(labels, "after "+st.Filter)
			vals = append(vals, float64(left))
		}
		p.Funnel = hbars("funnel", "Curation funnel", labels, vals)
		for _, c := range in.Curation.Diffs {
			p.Diffs = append(p.Diffs, c.Diff())
		}
	}
	if err := pageTmpl.Execute(w, p); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sortedKeys(m map[string]*DatasetStats) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scaling plots accuracy against tokens per trajectory for the runs that carry
// a --defer-stop value: the paper's sequential test-time scaling curve.
func scaling(runs []*Run) template.HTML {
	var pts []Point
	for _, r := range runs {
		if r.DeferStop < 0 {
			continue
		}
		pts = append(pts, Point{X: r.Total.TokensPerTrajectory(), Y: r.Total.Accuracy(), Label: "defer " + strconv.Itoa(r.DeferStop)})
	}
	if len(pts) == 0 {
		return ""
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
	return lineChart("scaling", "Sequential scaling: accuracy against tokens", "completion tokens per trajectory", pts, pct)
}

// toolCalls shows, per run, the share of trajectories with 0, 1, … tool calls.
func toolCalls(runs []*Run) template.HTML {
	n := 0
	for _, r := range runs {
		n = max(n, len(r.ToolCallHist))
	}
	if n == 0 {
		return ""
	}
	var cats, series []string
	for i := 0; i < n; i++ {
		cats = append(cats, strconv.Itoa(i))
	}
	for _, r := range runs {
		series = append(series, r.Label)
	}
	return groupedBars("toolcalls", "Tool calls per trajectory (share of trajectories)", cats, series, func(c, s int) float64 {
		r := runs[s]
		if c >= len(r.ToolCallHist) || r.Total.N == 0 {
			return 0
		}
		return float64(r.ToolCallHist[c]) / float64(r.Total.N)
	}, 1, pct)
}

var pageTmpl = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,td:nth-child(2){text-align:left}
pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:240px}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Generated {{.Generated}}. Charts are inline SVG; hover a bar for its value.</p>
<div class="charts">
{{.Accuracy}}
{{.Scaling}}
{{.ToolCalls}}
{{.Funnel}}
</div>
{{if .Table}}<h2>Runs</h2>
<table><tr><th>run</th><th>dataset</th><th>trajectories</th><th>graded</th><th>accuracy</th><th>tokens/trajectory</th><th>tool calls/trajectory</th><th>hints/trajectory</th></tr>
{{range .Table}}<tr><td>{{.Run}}</td><td>{{.Dataset}}</td><td>{{.N}}</td><td>{{.Graded}}</td><td>{{.Accuracy}}</td><td>{{.Tokens}}</td><td>{{.Tools}}</td><td>{{.Hint}}</td></tr>
{{end}}</table>{{end}}
{{with .RFT}}<h2>RFT sampling</h2>
<table><tr><th>problems</th><th>k</th><th>pass@1</th><th>pass@k</th><th>maj@k</th><th>kept</th></tr>
<tr><td>{{.Problems}}</td><td>{{.K}}</td><td>{{printf "%.3f" .PassAt1}}</td><td>{{printf "%.3f" .PassAtK}}</td><td>{{printf "%.3f" .MajAtK}}</td><td>{{.Kept}}</td></tr></table>{{end}}
{{with .Curation}}<h2>Curation</h2>
<p>{{.Funnel.In}} in, {{.Funnel.Kept}} kept, {{.BadCount}} lines not matching the contract, {{.Rewritten}} rewritten, {{.Flipped}} grades changed by regrading.</p>
<table><tr><th>filter</th><th>removed</th><th>examples</th></tr>
{{range .Funnel.Stages}}<tr><td>{{.Filter}}</td><td>{{.Removed}}</td><td style="text-align:left">{{range .Examples}}{{.}}<br>{{end}}</td></tr>{{end}}</table>
{{if .Bad}}<h3>Lines not matching the contract</h3><ul>{{range .Bad}}<li>{{.File}}:{{.Line}}: {{.Err}}</li>{{end}}</ul>{{end}}
{{end}}
{{if .Diffs}}<h2>Rewrites</h2>{{range .Diffs}}<pre>{{.}}</pre>{{end}}{{end}}
</body></html>
`))
