package top

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Bars are ASCII so that they read the same in any terminal, a pipe and a
// tmux capture without a UTF-8 locale; sparklines need the block glyphs.
const (
	barWidth  = 12
	barFull   = "#"
	barEmpty  = "."
	sparkLen  = 20
	sparkRune = "▁▂▃▄▅▆▇█"
)

// style colours the TUI; the zero style (plain) renders text as is.
type style struct {
	on                        bool
	title, head, dim          lipgloss.Style
	good, warn, bad, warnText lipgloss.Style
}

func newStyle(on bool) style {
	if !on {
		return style{}
	}
	return style{
		on:       true,
		title:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		head:     lipgloss.NewStyle().Bold(true).Underline(true),
		dim:      lipgloss.NewStyle().Faint(true),
		good:     lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		warn:     lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
		bad:      lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
		warnText: lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
	}
}

func (s style) r(st lipgloss.Style, text string) string {
	if !s.on {
		return text
	}
	return st.Render(text)
}

// level picks a colour for a fraction: green, then yellow from warnAt,
// red from badAt.
func (s style) level(frac, warnAt, badAt float64, text string) string {
	switch {
	case frac >= badAt:
		return s.r(s.bad, text)
	case frac >= warnAt:
		return s.r(s.warn, text)
	}
	return s.r(s.good, text)
}

// bar draws frac (0..1) as [####........].
func bar(frac float64) string {
	if math.IsNaN(frac) {
		frac = 0
	}
	frac = max(0, min(1, frac))
	n := int(math.Round(frac * barWidth))
	return "[" + strings.Repeat(barFull, n) + strings.Repeat(barEmpty, barWidth-n) + "]"
}

// sparkline draws the last sparkLen values scaled to their maximum.
func sparkline(xs []float64) string {
	if len(xs) > sparkLen {
		xs = xs[len(xs)-sparkLen:]
	}
	hi := 0.0
	for _, x := range xs {
		hi = max(hi, x)
	}
	runes := []rune(sparkRune)
	var b strings.Builder
	for _, x := range xs {
		i := 0
		if hi > 0 {
			i = int(math.Round(x / hi * float64(len(runes)-1)))
		}
		b.WriteRune(runes[max(0, min(len(runes)-1, i))])
	}
	return b.String()
}

// hotTemp is where a GPU's temperature bar turns red; H100 and A100 start
// to throttle near 85 C.
const hotTemp = 85.0

// render draws the whole screen. width <= 0 means no truncation. fetchErr,
// when set, is the last refresh's failure, shown with the older snapshot.
func render(s Snapshot, h *History, width int, st style, fetchErr error) string {
	var b strings.Builder
	line := func(format string, args ...any) {
		text := fmt.Sprintf(format, args...)
		if width > 0 && lipgloss.Width(text) > width {
			text = truncate(text, width)
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	at := "never"
	if !s.At.IsZero() {
		at = s.At.Format("15:04:05")
	}
	dead := fmt.Sprintf("dead letters %d", s.DeadLetters())
	if s.DeadLetters() > 0 {
		dead = st.r(st.bad, dead)
	}
	line("%s  %s  workers %d  jobs %d  %s", st.r(st.title, "hintfleet top"), at, len(s.Workers), len(s.Jobs), dead)
	line("")
	line("%s", st.r(st.head, "WORKERS"))
	if len(s.Workers) == 0 {
		line("  (none)")
	}
	for _, w := range s.Workers {
		limit := "-"
		if w.Limit > 0 {
			limit = fmt.Sprint(w.Limit)
		}
		line("%-14s %-8s running %4d / %-4s %9.1f tok/s  %s  %s",
			clip(w.ID, 14), clip(orDash(w.State), 8), w.InFlight, limit, w.TokensPerSec,
			sparkline(h.Worker(w.ID)), st.r(st.dim, w.Engine))
		for _, g := range w.GPUs {
			util := g.UtilPercent / 100
			mem := 0.0
			if g.MemTotalMiB > 0 {
				mem = g.MemUsedMiB / g.MemTotalMiB
			}
			temp := g.TempC / 100
			line("  gpu%-2d %-22s util %s %3.0f%%  mem %s %6.0f/%-6.0f MiB  temp %s %3.0f C",
				g.Index, clip(g.Name, 22),
				st.level(util, 2, 2, bar(util)), g.UtilPercent,
				st.level(mem, 0.9, 0.97, bar(mem)), g.MemUsedMiB, g.MemTotalMiB,
				st.level(g.TempC, 75, hotTemp, bar(temp)), g.TempC)
		}
	}
	line("")
	line("%s", st.r(st.head, "JOBS"))
	if len(s.Jobs) == 0 {
		line("  (none)")
	}
	// Job ids are shown whole (padded to the longest), so that each can be
	// told apart and copied into cancel or status.
	idWidth := 0
	for _, j := range s.Jobs {
		idWidth = max(idWidth, len(j.ID))
	}
	for _, j := range s.Jobs {
		p := j.Progress()
		dl := fmt.Sprintf("dead %d", j.DeadLettered)
		if j.DeadLettered > 0 {
			dl = st.r(st.bad, dl)
		}
		line("%-*s %-9s %s %5.1f%%  %d/%d done  queued %d  running %d  %s  %9.1f tok/s  %s",
			idWidth, j.ID, clip(orDash(j.State), 9), st.r(st.good, bar(p)), p*100,
			j.Done, j.Submitted, j.Queued, j.Running, dl, j.TokensPerSec, sparkline(h.Job(j.ID)))
		if j.Waiting != "" {
			line("  %s", st.r(st.warnText, j.Waiting))
		}
	}
	if fetchErr != nil {
		line("")
		line("%s", st.r(st.bad, "refresh failed: "+fetchErr.Error()))
	}
	for _, w := range s.Warnings {
		line("%s", st.r(st.warnText, "warning: "+w))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "~"
}

// truncate cuts a possibly styled line to width cells.
func truncate(s string, width int) string {
	return lipgloss.NewStyle().MaxWidth(width).Render(s)
}

// WritePlain writes s as plain text without escape codes, for --once and
// pipes. h may be nil.
func WritePlain(w io.Writer, s Snapshot, h *History) error {
	if h == nil {
		h = NewHistory()
		h.Add(s)
	}
	if _, err := io.WriteString(w, render(s, h, 0, newStyle(false), nil)); err != nil {
		return fmt.Errorf("top: write: %w", err)
	}
	return nil
}
