package serve_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/serve"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestHTTPStops starts a request, ends ctx while it runs and checks how each
// kind of handler ends and what HTTP returns.
func TestHTTPStops(t *testing.T) {
	tests := []struct {
		name string
		// handler runs after started is closed; release is closed once ctx
		// has ended and shutdown has begun, returned once HTTP returned.
		handler  func(w http.ResponseWriter, r *http.Request, release, returned <-chan struct{})
		grace    time.Duration
		wantErr  string // "" for nil
		wantBody string // what the client reads; "" when it must fail
	}{
		{
			name: "request in flight finishes within the grace",
			handler: func(w http.ResponseWriter, _ *http.Request, release, _ <-chan struct{}) {
				<-release
				_, _ = io.WriteString(w, "finished")
			},
			grace:    time.Minute,
			wantBody: "finished",
		},
		{
			name: "long-lived request ends with ctx",
			handler: func(w http.ResponseWriter, r *http.Request, _, _ <-chan struct{}) {
				<-r.Context().Done()
				_, _ = io.WriteString(w, "ended by ctx")
			},
			grace:    time.Minute,
			wantBody: "ended by ctx",
		},
		{
			name: "request that ignores ctx is cut off after the grace",
			handler: func(_ http.ResponseWriter, _ *http.Request, _, returned <-chan struct{}) {
				<-returned // ignores ctx and outlives the server
			},
			grace:   50 * time.Millisecond,
			wantErr: "requests still running after 50ms",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started, release, shut := make(chan struct{}), make(chan struct{}), make(chan struct{})
			returned := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				tc.handler(w, r, release, returned)
			})
			ln := listen(t)
			errc := make(chan error, 1)
			go func() {
				errc <- serve.HTTP(ctx, ln, h, serve.WithGrace(tc.grace), serve.OnShutdown(func() { close(shut) }))
			}()
			type reply struct {
				body string
				err  error
			}
			replies := make(chan reply, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String())
				if err != nil {
					replies <- reply{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				replies <- reply{string(b), err}
			}()
			<-started
			cancel()
			<-shut // shutdown began: the listener no longer accepts
			close(release)
			err := <-errc
			close(returned)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("HTTP = %v, want error %q", err, tc.wantErr)
			}
			r := <-replies
			if tc.wantBody != "" && (r.err != nil || r.body != tc.wantBody) {
				t.Errorf("client got %q, %v, want %q", r.body, r.err, tc.wantBody)
			}
			if tc.wantBody == "" && r.err == nil {
				t.Errorf("client got %q, want its request cut off", r.body)
			}
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				c.Close()
				t.Errorf("listener still accepts after HTTP returned")
			}
		})
	}
}

func TestHTTPListenerError(t *testing.T) {
	ln := listen(t)
	ln.Close()
	err := serve.HTTP(context.Background(), ln, http.NotFoundHandler())
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("HTTP on a closed listener = %v, want net.ErrClosed", err)
	}
}
