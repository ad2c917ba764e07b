package top

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// DefaultInterval is how often the UI refreshes.
const DefaultInterval = 2 * time.Second

// UIOptions configure Run. Zero values mean defaults: DefaultInterval, the
// process's terminal.
type UIOptions struct {
	Interval time.Duration
	In       io.Reader
	Out      io.Writer
}

// Run shows the fleet from src in the terminal until the user presses q or
// ctrl+c, or ctx ends; both return nil. The bubbletea program owns every
// goroutine it starts and has stopped them when Run returns.
func Run(ctx context.Context, src Source, o UIOptions) error {
	if src == nil {
		return errors.New("top: nil source")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithAltScreen()}
	if o.In != nil {
		opts = append(opts, tea.WithInput(o.In))
	}
	if o.Out != nil {
		opts = append(opts, tea.WithOutput(o.Out))
	}
	m := &uiModel{ctx: ctx, src: src, interval: o.Interval, hist: NewHistory()}
	_, err := tea.NewProgram(m, opts...).Run()
	if err != nil && errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("top: %w", err)
	}
	return nil
}

// snapMsg carries one refresh's result into Update.
type snapMsg struct {
	snap Snapshot
	err  error
}

// tickMsg asks for the next refresh.
type tickMsg struct{}

// uiModel is the bubbletea model: the last snapshot, its history and the
// last error. Bubbletea calls its methods from one goroutine.
type uiModel struct {
	ctx      context.Context
	src      Source
	interval time.Duration
	hist     *History
	snap     Snapshot
	err      error
	width    int
	loaded   bool
}

func (m *uiModel) fetch() tea.Msg {
	ctx, cancel := context.WithTimeout(m.ctx, max(m.interval, DefaultTimeout))
	defer cancel()
	s, err := m.src.Snapshot(ctx)
	return snapMsg{snap: s, err: err}
}

// Init implements tea.Model.
func (m *uiModel) Init() tea.Cmd { return m.fetch }

// Update implements tea.Model.
func (m *uiModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		case "r":
			return m, m.fetch
		}
	case tea.WindowSizeMsg:
		m.width = msg.Width
	case snapMsg:
		m.err = msg.err
		if msg.err == nil {
			m.snap, m.loaded = msg.snap, true
			m.hist.Add(msg.snap)
		}
		return m, tea.Tick(m.interval, func(time.Time) tea.Msg { return tickMsg{} })
	case tickMsg:
		return m, m.fetch
	}
	return m, nil
}

// View implements tea.Model.
func (m *uiModel) View() string {
	if !m.loaded && m.err == nil {
		return "hintfleet top: loading…\n"
	}
	return render(m.snap, m.hist, m.width, newStyle(true), m.err) + "\nq quit  r refresh\n"
}
