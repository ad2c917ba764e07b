package cluster_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
)

func TestEndpointsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := cluster.Endpoints{API: "http://h:8700", NATS: []string{"nats://h:4222"}, Etcd: []string{"http://h:2379"},
		NATSTokenFile: "/s/token", TLSCA: "/s/ca.pem", Model: "m", Data: dir, PID: 42}
	if err := cluster.WriteEndpoints(dir, want); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cluster.EndpointsPath(dir) + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file left behind: %v", err)
	}
	got, err := cluster.ReadEndpoints(cluster.EndpointsPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v, want %+v", got, want)
	}
	cfg := got.Config()
	if !reflect.DeepEqual(cfg.NATS.URLs, want.NATS) || !reflect.DeepEqual(cfg.Etcd.Endpoints, want.Etcd) ||
		cfg.NATS.TLS.CA != want.TLSCA || cfg.Etcd.TLS.CA != want.TLSCA {
		t.Errorf("Config() = %+v, want the addresses and CA of %+v", cfg, want)
	}
	if err := cluster.RemoveEndpoints(dir); err != nil {
		t.Fatal(err)
	}
	if err := cluster.RemoveEndpoints(dir); err != nil {
		t.Errorf("removing a missing file: %v, want nil", err)
	}
}

func TestReadEndpointsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"unknown field", `{"nats":["n"],"etcd":["e"],"pid":1,"token":"x"}`, `:1: field "token": unknown field`},
		{"not json", `nats=n`, "invalid character"},
		{"wrong type", `{"nats":"n"}`, "nats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := dir + "/" + strings.ReplaceAll(tc.name, " ", "_") + ".json"
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := cluster.ReadEndpoints(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadEndpoints = %v, want an error naming %s and %q", err, path, tc.want)
			}
		})
	}
	if _, err := cluster.ReadEndpoints(dir + "/missing.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func TestWaitEndpoints(t *testing.T) {
	dir := t.TempDir()
	want := cluster.Endpoints{NATS: []string{"nats://a"}, Etcd: []string{"http://b"}, PID: 7}
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		<-started
		errc <- cluster.WriteEndpoints(dir, want)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	close(started)
	got, err := cluster.WaitEndpoints(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if werr := <-errc; werr != nil {
		t.Fatal(werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WaitEndpoints = %+v, want %+v", got, want)
	}

	cause := errors.New("gave up")
	cctx, ccancel := context.WithCancelCause(context.Background())
	ccancel(cause)
	if _, err := cluster.WaitEndpoints(cctx, t.TempDir()); !errors.Is(err, cause) {
		t.Errorf("WaitEndpoints after ctx end = %v, want its cause", err)
	}
}
