package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/trajectory"
)

// Setup is what a single-machine run needs besides its problems and
// Options, as a command line gives it: engines, hint settings, plugins.
type Setup struct {
	// Engines are the engines' base URLs, at least one; trajectories are
	// spread over them.
	Engines []string
	// Model is the model to ask for; empty takes each engine's first.
	Model string
	// EngineOptions apply to every engine client (an API key, say).
	EngineOptions []engine.Option
	// Hint is the hint settings; Template hint.EngineTemplateName renders
	// prompts with the served model's own chat template.
	Hint hint.Spec
	// Plugins are the tool plugins to start; nil runs no tools.
	Plugins *host.Source
	// Logger hears the plugins and which engines were down at the start
	// (nil discards).
	Logger *slog.Logger
}

// Local is a Setup made ready: the engines, the hint config, the run's
// Settings (what a resume checks) and the tools. Close stops the plugins.
type Local struct {
	Engines  *Engines
	Hint     hint.Config
	Settings Settings
	Tools    hint.Tool
	plugins  *host.Manager
}

// Open checks the hint settings, dials the engines (DialEngines: one down
// at the start is still used, and said in the log; with --template engine
// the first is asked once that it can render the chat template) and starts
// the plugins. On an error nothing is left running.
func (s Setup) Open(ctx context.Context) (*Local, error) {
	spec := s.Hint
	if spec.Template == hint.EngineTemplateName {
		spec.Template = "" // set once the engine is dialled
	}
	cfg, err := spec.LocalConfig(0)
	if err != nil {
		return nil, fmt.Errorf("hint flags: %w", err)
	}
	if len(s.Engines) == 0 {
		return nil, errors.New("no --engine given")
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clients, skipped, err := DialEngines(ctx, s.Engines, s.Model, s.EngineOptions...)
	if err != nil {
		return nil, err
	}
	for _, err := range skipped {
		log.Warn("engine not answering at the start; its tasks go to the others until it does", "err", err)
	}
	l := &Local{Hint: cfg}
	if l.Engines, err = NewEngines(clients, nil); err != nil {
		return nil, err
	}
	if s.Hint.Template == hint.EngineTemplateName {
		if _, err := clients[0].RenderChat(ctx, "?"); err != nil {
			return nil, fmt.Errorf("--template engine: %w", err)
		}
		l.Hint.Template = hint.EngineTemplate(clients[0], nil, nil)
	}
	if l.Settings, err = NewSettings(s.Hint, clients[0].Model(), s.Plugins != nil); err != nil {
		return nil, err
	}
	if s.Plugins == nil {
		return l, nil
	}
	if l.plugins, err = s.Plugins.Start(ctx, log); err != nil {
		return nil, err
	}
	l.Tools = &Tools{Router: l.plugins}
	return l, nil
}

// Run runs problems on the opened setup (Run, with its engines, hint
// config, tools and settings), labelled "hints NAME" unless opt.Label
// names the run, and with a progress bar on progress when that is not nil
// (a terminal's stderr: the bar is redrawn in place).
func (l *Local) Run(ctx context.Context, problems []trajectory.Problem, opt Options, progress io.Writer) (*Summary, error) {
	opt.Hint, opt.Tools, opt.Settings = l.Hint, l.Tools, &l.Settings
	if opt.Label == "" {
		opt.Label = "hints " + l.Settings.Hints
	}
	var bar *ProgressBar
	if progress != nil {
		bar = NewProgressBar(progress)
		opt.Progress = bar.Update
	}
	sum, err := Run(ctx, l.Engines, problems, opt)
	if bar != nil {
		bar.Done()
	}
	return sum, err
}

// Close stops the plugins, if any.
func (l *Local) Close() error {
	if l.plugins == nil {
		return nil
	}
	return l.plugins.Close()
}
