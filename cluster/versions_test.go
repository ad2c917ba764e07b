package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		have, need string
		tooOld     bool
		bad        bool
	}{
		{have: "2.9.10", need: "2.9.0"},
		{have: "2.9.0", need: "2.9.0"},
		{have: "v2.15.2", need: "2.9.0"},
		{have: "2.10.0-RC.3", need: "2.9.0"},
		{have: "3.4.23", need: "3.4.0"},
		{have: "3.7.3", need: "3.4.0"},
		{have: "2.8.4", need: "2.9.0", tooOld: true},
		{have: "1.9.9", need: "2.9.0", tooOld: true},
		{have: "3.3.27", need: "3.4.0", tooOld: true},
		{have: "3.4", need: "3.4.0"},
		{have: "", need: "2.9.0", bad: true},
		{have: "two.nine", need: "2.9.0", bad: true},
	} {
		t.Run(tc.have, func(t *testing.T) {
			err := checkVersion("srv", "addr", tc.have, tc.need)
			switch {
			case tc.tooOld:
				if !errors.Is(err, ErrServerTooOld) || !strings.Contains(err.Error(), "needs srv "+tc.need+" or newer") {
					t.Fatalf("checkVersion(%q, %q) = %v, want ErrServerTooOld naming %s", tc.have, tc.need, err, tc.need)
				}
			case tc.bad:
				if err == nil || errors.Is(err, ErrServerTooOld) {
					t.Fatalf("checkVersion(%q) = %v, want a parse error", tc.have, err)
				}
			case err != nil:
				t.Fatalf("checkVersion(%q, %q) = %v, want nil", tc.have, tc.need, err)
			}
		})
	}
}

// oldNATS is a NATS server as old ones greet clients: it speaks the
// client protocol's handshake (INFO, then PONG to PING) and nothing more,
// announcing version. Only the handshake matters: Connect must refuse the
// server before it sends any request. A real 2.8 server is not packaged
// anywhere this test can install one.
func oldNATS(t *testing.T, version string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				fmt.Fprintf(c, "INFO {\"server_id\":\"OLD\",\"server_name\":\"old\",\"version\":%q,\"go\":\"go1.19\",\"host\":\"127.0.0.1\",\"port\":%d,\"max_payload\":1048576,\"proto\":1,\"jetstream\":true}\r\n", version, port)
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "PING") {
						fmt.Fprint(c, "PONG\r\n")
					}
				}
			})
		}
	})
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

func TestConnectRefusesOldNATS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cfg Config
	cfg.NATS.URLs = []string{oldNATS(t, "2.8.4")}
	cfg.Etcd.Endpoints = []string{"http://127.0.0.1:1"} // never reached
	_, err := Connect(ctx, cfg)
	if !errors.Is(err, ErrServerTooOld) || !strings.Contains(err.Error(), "nats-server 2.9.0 or newer") || !strings.Contains(err.Error(), "is 2.8.4") {
		t.Fatalf("Connect to nats-server 2.8.4: %v, want ErrServerTooOld naming 2.8.4 and 2.9.0", err)
	}
}
