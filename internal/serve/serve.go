// Package serve runs an HTTP server for as long as a context lives, then
// shuts it down: the one serve-then-shutdown sequence behind hintfleet's
// servers (coordinator API, worker metrics, GPU exporter, simulated engine),
// so each stops the same way: stop accepting, let requests in flight finish
// within a grace period, close what is left, return after the server's
// goroutine has exited.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultGrace is how long HTTP waits for requests in flight after ctx ends.
const DefaultGrace = 5 * time.Second

// readHeaderTimeout bounds a client that opens a connection and never sends
// its request line (slowloris).
const readHeaderTimeout = 10 * time.Second

type settings struct {
	grace      time.Duration
	log        *slog.Logger
	onShutdown []func()
	timeouts   Timeouts
}

// Timeouts bound slow clients beyond the default header timeout; a zero
// field keeps the server's default (ReadHeader: 10 s; the others: none).
type Timeouts struct {
	ReadHeader, Read, Idle time.Duration
	MaxHeaderBytes         int
}

// WithTimeouts sets the server's timeouts against slow clients: how long
// the headers, the whole request and an idle keep-alive connection may
// take, and how large the headers may be. Write deadlines are the
// handlers' own (http.ResponseController), since streams must outlive any
// fixed one.
func WithTimeouts(t Timeouts) Option { return func(s *settings) { s.timeouts = t } }

// Option tunes HTTP.
type Option func(*settings)

// WithGrace sets how long HTTP waits for requests in flight after ctx ends
// before closing their connections; d <= 0 closes them at once.
func WithGrace(d time.Duration) Option { return func(s *settings) { s.grace = d } }

// WithLogger sends the server's own messages (bad TLS handshakes, panics in
// handlers) to l at debug level. Without it they are discarded, never
// written to the process-wide default logger.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// OnShutdown calls f (in its own goroutine, as http.Server does) when the
// shutdown begins, for handlers that must be told to end, such as streams
// that would otherwise outlast the grace period.
func OnShutdown(f func()) Option { return func(s *settings) { s.onShutdown = append(s.onShutdown, f) } }

// HTTP serves h on ln until ctx ends, then shuts down. Requests see ctx as
// their context's parent, so long-lived requests end with it; the rest get
// the grace period (DefaultGrace unless WithGrace) to finish, then their
// connections are closed. HTTP closes ln and returns after the server has
// stopped: nil after a stop by ctx, the listener's error wrapped otherwise,
// or an error saying requests were cut off at the end of the grace period.
func HTTP(ctx context.Context, ln net.Listener, h http.Handler, opts ...Option) error {
	s := settings{grace: DefaultGrace, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&s)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if t := s.timeouts; t != (Timeouts{}) {
		if t.ReadHeader > 0 {
			srv.ReadHeaderTimeout = t.ReadHeader
		}
		srv.ReadTimeout, srv.IdleTimeout, srv.MaxHeaderBytes = t.Read, t.Idle, t.MaxHeaderBytes
	}
	for _, f := range s.onShutdown {
		srv.RegisterOnShutdown(f)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }() // waited on below, on every path
	select {
	case err := <-errc:
		_ = srv.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close() // cut off what outlived the grace period
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), serr)
	}
	if err != nil {
		return fmt.Errorf("shut down %s: requests still running after %v: %w", ln.Addr(), s.grace, err)
	}
	return nil
}
