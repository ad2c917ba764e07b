package coordinator

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

// TestPublishAllPastTheWindowOnASlowServer: a dispatch batch larger than
// the publish window, against a server whose acks come back later than the
// jetstream client's 200 ms stall (here a proxy holding every byte from the
// server for 400 ms, as a starved or distant server does), is published
// whole. Before publishAll kept the window itself, the publish after the
// first publishWindow failed with ErrTooManyStalledMsgs every time.
func TestPublishAllPastTheWindowOnASlowServer(t *testing.T) {
	env := clustertest.Start(t)
	cfg := env.Config()
	u, err := url.Parse(cfg.NATS.URLs[0])
	if err != nil {
		t.Fatal(err)
	}
	u.Host = slowProxy(t, u.Host, 400*time.Millisecond)
	cfg.NATS.URLs = []string{u.String()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	js, err := jetstream.New(conn.NATS, jetstream.WithPublishAsyncMaxPending(publishWindow))
	if err != nil {
		t.Fatal(err)
	}
	c := &Coordinator{js: js}

	const n = 2*publishWindow + 100
	subject := cluster.TaskSubject("slow-pool", "slow-job")
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = nats.NewMsg(subject)
		msgs[i].Data = []byte("task " + strconv.Itoa(i))
		msgs[i].Header.Set(jetstream.MsgIDHeader, "slow-"+strconv.Itoa(i))
	}
	if err := c.publishAll(ctx, msgs); err != nil {
		t.Fatalf("publish %d messages through a slow server: %v", n, err)
	}
	s, err := env.Conn.JS.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects[subject]; got != n {
		t.Errorf("stream holds %d messages on %s, want %d", got, subject, n)
	}
}

// slowProxy forwards TCP connections to target, delivering what the server
// sends each chunk delay after it arrived (in order); what the client sends
// goes straight through. It returns its address; cleanup closes it.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(cs ...net.Conn) {
		mu.Lock()
		conns = append(conns, cs...)
		mu.Unlock()
	}
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() { // owned: cleanup closes l and waits
		defer wg.Done()
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			track(client, server)
			type chunk struct {
				at time.Time
				b  []byte
			}
			delayed := make(chan chunk, 1024)
			wg.Add(3)
			go func() { // client → server, undelayed
				defer wg.Done()
				_, _ = io.Copy(server, client)
				_ = server.Close()
			}()
			go func() { // server → queue
				defer wg.Done()
				defer close(delayed)
				for {
					buf := make([]byte, 32<<10)
					k, err := server.Read(buf)
					if k > 0 {
						delayed <- chunk{time.Now().Add(delay), buf[:k]}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() { // queue → client, each chunk at its time
				defer wg.Done()
				defer client.Close()
				for c := range delayed {
					time.Sleep(time.Until(c.at)) // the latency this proxy exists to add
					if _, err := client.Write(c.b); err != nil && !errors.Is(err, net.ErrClosed) {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}
