package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// palette colours series consistently across charts; the screenshot test
// looks for these exact colours.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

const (
	chartW  = 640
	chartH  = 320
	marginL = 56
	marginR = 16
	marginT = 28
	marginB = 56
)

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

func esc(s string) string { return template.HTMLEscapeString(s) }

func (b *svgBuf) open(name, title string) {
	b.f(`<svg class="chart" data-chart="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		esc(name), chartW, chartH, chartW, chartH, esc(title))
	b.f(`<rect width="100%%" height="100%%" fill="#ffffff"/>`)
	b.f(`<text x="%d" y="18" font-size="14" font-weight="bold" font-family="sans-serif">%s</text>`, marginL, esc(title))
}

// axes draws a y axis from 0 to ymax with 5 ticks, formatted by tick.
func (b *svgBuf) axes(ymax float64, tick func(float64) string) {
	x0, y0, y1 := marginL, chartH-marginB, marginT
	b.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`, x0, y0, chartW-marginR, y0)
	b.f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`, x0, y0, x0, y1)
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := float64(y0) - float64(y0-y1)*float64(i)/4
		b.f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, x0+1, y, chartW-marginR, y)
		b.f(`<text x="%d" y="%.1f" font-size="11" text-anchor="end" font-family="sans-serif">%s</text>`, x0-4, y+4, esc(tick(v)))
	}
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

// groupedBars draws one group per category with one bar per series.
func groupedBars(name, title string, cats, series []string, val func(cat, ser int) float64, ymax float64, tick func(float64) string) template.HTML {
	var b svgBuf
	b.open(name, title)
	b.axes(ymax, tick)
	plotW := float64(chartW - marginL - marginR)
	plotH := float64(chartH - marginT - marginB)
	groupW := plotW / float64(max(1, len(cats)))
	barW := groupW * 0.8 / float64(max(1, len(series)))
	for c, cat := range cats {
		gx := float64(marginL) + groupW*float64(c) + groupW*0.1
		for s := range series {
			v := val(c, s)
			h := 0.0
			if ymax > 0 {
				h = plotH * math.Min(v, ymax) / ymax
			}
			x := gx + barW*float64(s)
			b.f(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x, float64(chartH-marginB)-h, barW-2, h, palette[s%len(palette)], esc(cat), esc(series[s]), esc(tick(v)))
		}
		b.f(`<text x="%.1f" y="%d" font-size="11" text-anchor="middle" font-family="sans-serif">%s</text>`, gx+groupW*0.4, chartH-marginB+16, esc(cat))
	}
	legend(&b, series)
	b.f(`</svg>`)
	return template.HTML(b.String())
}

func legend(b *svgBuf, series []string) {
	x := marginL
	for s, name := range series {
		b.f(`<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`, x, chartH-22, palette[s%len(palette)])
		b.f(`<text x="%d" y="%d" font-size="11" font-family="sans-serif">%s</text>`, x+14, chartH-13, esc(name))
		x += 24 + 7*len(name)
	}
}

// Point is one (x, y) of a line chart, with a label shown on hover.
type Point struct {
	X, Y  float64
	Label string
}

// lineChart draws one polyline with markers; x and y axes start at 0.
func lineChart(name, title, xlabel string, pts []Point, ytick func(float64) string) template.HTML {
	var b svgBuf
	b.open(name, title)
	xmax, ymax := 0.0, 1.0
	for _, p := range pts {
		xmax = math.Max(xmax, p.X)
	}
	if xmax == 0 {
		xmax = 1
	}
	xmax *= 1.1
	b.axes(ymax, ytick)
	plotW := float64(chartW - marginL - marginR)
	plotH := float64(chartH - marginT - marginB)
	px := func(x float64) float64 { return float64(marginL) + plotW*x/xmax }
	py := func(y float64) float64 { return float64(chartH-marginB) - plotH*y/ymax }
	var path []string
	for _, p := range pts {
		path = append(path, fmt.Sprintf("%.1f,%.1f", px(p.X), py(p.Y)))
	}
	if len(path) > 0 {
		b.f(`<polyline class="series" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(path, " "), palette[0])
	}
	for _, p := range pts {
		b.f(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s</title></circle>`, px(p.X), py(p.Y), palette[0], esc(p.Label))
		b.f(`<text x="%.1f" y="%.1f" font-size="10" font-family="sans-serif">%s</text>`, px(p.X)+6, py(p.Y)-6, esc(p.Label))
	}
	for i := 0; i <= 4; i++ {
		v := xmax * float64(i) / 4
		b.f(`<text x="%.1f" y="%d" font-size="11" text-anchor="middle" font-family="sans-serif">%.0f</text>`, px(v), chartH-marginB+16, v)
	}
	b.f(`<text x="%d" y="%d" font-size="11" text-anchor="middle" font-family="sans-serif">%s</text>`, marginL+int(plotW/2), chartH-marginB+34, esc(xlabel))
	b.f(`</svg>`)
	return template.HTML(b.String())
}

// hbars draws horizontal bars, one per label, longest = max.
func hbars(name, title string, labels []string, vals []float64) template.HTML {
	var b svgBuf
	b.open(name, title)
	vmax := 0.0
	for _, v := range vals {
		vmax = math.Max(vmax, v)
	}
	if vmax == 0 {
		vmax = 1
	}
	rowH := float64(chartH-marginT-20) / float64(max(1, len(labels)))
	left := 170.0
	for i, l := range labels {
		y := float64(marginT) + rowH*float64(i) + 4
		w := (float64(chartW-marginR) - left - 50) * vals[i] / vmax
		b.f(`<text x="%.1f" y="%.1f" font-size="11" text-anchor="end" font-family="sans-serif">%s</text>`, left-6, y+rowH*0.5, esc(l))
		b.f(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, left, y, w, rowH*0.7, palette[i%len(palette)])
		b.f(`<text x="%.1f" y="%.1f" font-size="11" font-family="sans-serif">%.0f</text>`, left+w+4, y+rowH*0.5, vals[i])
	}
	b.f(`</svg>`)
	return template.HTML(b.String())
}
