package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func publishTask(ctx context.Context, t *testing.T, js jetstream.JetStream, subj, msgID, body string) *jetstream.PubAck {
	t.Helper()
	ack, err := js.Publish(ctx, subj, []byte(body), jetstream.WithMsgID(msgID))
	if err != nil {
		t.Fatalf("publish %s: %v", msgID, err)
	}
	return ack
}

func TestEmbeddedRestartKeepsData(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	env := clustertest.StartIn(t, dir)
	subj := cluster.TaskSubject("qwq", "job1")
	publishTask(ctx, t, env.Conn.JS, subj, cluster.TaskMsgID("t1", 1), "payload")
	if _, err := env.Conn.Etcd.Put(ctx, cluster.JobKey("job1"), "running"); err != nil {
		t.Fatalf("put job: %v", err)
	}
	before := env.Endpoints()
	if err := env.Conn.Close(); err != nil {
		t.Fatalf("close conn: %v", err)
	}
	if err := env.Close(); err != nil {
		t.Fatalf("close embedded: %v", err)
	}

	env2 := clustertest.StartIn(t, dir)
	if got := env2.Endpoints(); got.NATS[0] != before.NATS[0] || got.Etcd[0] != before.Etcd[0] {
		t.Logf("endpoints moved across restart (port taken): %+v -> %+v", before, got)
	}
	stream, err := env2.Conn.JS.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		t.Fatalf("message published before restart: %v", err)
	}
	if string(msg.Data) != "payload" {
		t.Errorf("data after restart = %q, want %q", msg.Data, "payload")
	}
	resp, err := env2.Conn.Etcd.Get(ctx, cluster.JobKey("job1"))
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "running" {
		t.Errorf("etcd key after restart = %v, %v; want running", resp, err)
	}
}

func TestPublishDedupe(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	subj := cluster.TaskSubject("qwq", "job1")
	first := publishTask(ctx, t, env.Conn.JS, subj, cluster.TaskMsgID("t1", 1), "a")
	second := publishTask(ctx, t, env.Conn.JS, subj, cluster.TaskMsgID("t1", 1), "a")
	if first.Duplicate || !second.Duplicate {
		t.Errorf("duplicate flags = %v, %v; want false, true", first.Duplicate, second.Duplicate)
	}
	third := publishTask(ctx, t, env.Conn.JS, subj, cluster.TaskMsgID("t1", 2), "a")
	if third.Duplicate {
		t.Errorf("attempt 2 deduped against attempt 1")
	}
	s, err := env.Conn.JS.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if got, want := info.State.Msgs, uint64(2); got != want {
		t.Errorf("stored messages = %d, want %d", got, want)
	}
}

// TestWorkQueueDeliversOnce has two pullers share the pool consumer and
// checks that every task reaches exactly one of them and leaves the stream
// once acked.
func TestWorkQueueDeliversOnce(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t)
	const n = 50
	for i := range n {
		publishTask(ctx, t, env.Conn.JS, cluster.TaskSubject("qwq", "job1"), cluster.TaskMsgID(fmt.Sprint("t", i), 1), fmt.Sprint(i))
	}
	// An affine message must not reach the pool consumer.
	publishTask(ctx, t, env.Conn.JS, cluster.WorkerTaskSubject("qwq", "w1", "job1"), cluster.TaskMsgID("affine", 1), "affine")
	if _, err := cluster.EnsurePoolConsumer(ctx, env.Conn.JS, "qwq", cluster.ConsumerOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.EnsureWorkerConsumer(ctx, env.Conn.JS, "qwq", "w1", cluster.ConsumerOptions{}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 2 {
		conn := env.Connect(t)
		c, err := conn.JS.Consumer(ctx, cluster.StreamTasks, cluster.PoolConsumer("qwq"))
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		wg.Go(func() {
			for {
				batch, err := c.Fetch(10, jetstream.FetchMaxWait(500*time.Millisecond))
				if err != nil {
					t.Errorf("fetch: %v", err)
					return
				}
				got := 0
				for m := range batch.Messages() {
					got++
					mu.Lock()
					seen[string(m.Data())]++
					mu.Unlock()
					if err := m.DoubleAck(ctx); err != nil {
						t.Errorf("ack: %v", err)
					}
				}
				if got == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("distinct tasks delivered = %d, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("task %s delivered %d times", k, c)
		}
	}
	s, _ := env.Conn.JS.Stream(ctx, cluster.StreamTasks)
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("messages left = %d, want 1 (the affine one)", info.State.Msgs)
	}
}

func TestNATSTLSAndToken(t *testing.T) {
	certs := clustertest.Certs(t)
	env := clustertest.Start(t, cluster.WithNATSTLS(certs), cluster.WithNATSToken("s3cret"))
	ctx := testCtx(t)
	tests := []struct {
		name   string
		edit   func(*cluster.Config)
		wantOK bool
	}{
		{"token and CA", func(*cluster.Config) {}, true},
		{"no token", func(c *cluster.Config) { c.NATS.Token = "" }, false},
		{"wrong token", func(c *cluster.Config) { c.NATS.Token = "guess" }, false},
		{"no CA", func(c *cluster.Config) { c.NATS.TLS = cluster.TLSFiles{} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.Config()
			cfg.Etcd.DialTimeout = 2 * time.Second
			tc.edit(&cfg)
			conn, err := cluster.Connect(ctx, cfg)
			if conn != nil {
				defer conn.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Fatalf("Connect err = %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
}

// TestEtcdMutualTLS serves embedded etcd over TLS with client-certificate
// auth: a client with the CA and a certificate connects; one without a
// certificate, without the CA, or speaking plain HTTP does not.
func TestEtcdMutualTLS(t *testing.T) {
	certs := clustertest.Certs(t)
	env := clustertest.Start(t, cluster.WithEtcdTLS(certs))
	ctx := testCtx(t)
	if !strings.HasPrefix(env.Config().Etcd.Endpoints[0], "https://") {
		t.Fatalf("etcd endpoint %s: want https", env.Config().Etcd.Endpoints[0])
	}
	tests := []struct {
		name   string
		edit   func(*cluster.Config)
		wantOK bool
	}{
		{"CA and client certificate", func(*cluster.Config) {}, true},
		{"no client certificate", func(c *cluster.Config) { c.Etcd.TLS.Cert, c.Etcd.TLS.Key = "", "" }, false},
		{"no CA", func(c *cluster.Config) { c.Etcd.TLS.CA = "" }, false},
		{"plain http", func(c *cluster.Config) {
			c.Etcd.TLS = cluster.TLSFiles{}
			c.Etcd.Endpoints = []string{strings.Replace(c.Etcd.Endpoints[0], "https://", "http://", 1)}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.Config()
			cfg.Etcd.DialTimeout = 2 * time.Second
			tc.edit(&cfg)
			conn, err := cluster.Connect(ctx, cfg)
			if conn != nil {
				defer conn.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Fatalf("Connect err = %v, want ok=%v", err, tc.wantOK)
			}
			if err == nil {
				if _, err := conn.Etcd.Put(ctx, "/hintfleet/tls-probe", "1"); err != nil {
					t.Fatalf("put over mutual TLS: %v", err)
				}
			}
		})
	}
}
