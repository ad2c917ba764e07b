package coordinator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
)

// TestAPIHostileRequests is the API's hostile suite: path tricks,
// special files, oversized and slow bodies, overflowing counts. Each is
// refused with a clear error naming the field or request, quickly, without
// echoing file content, and leaves an accepted job as it was. On the old
// API problems_path opened any file of the host (copying a root-only file
// into the job), /dev/zero and FIFOs hung the request, a body was read
// whole before its cap applied, and samples = 2^63-1 overflowed.
func TestAPIHostileRequests(t *testing.T) {
	env := clustertest.Start(t)
	pdir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.jsonl")
	writeFile(t, secret, `{"id":"s","question":"TOPSECRET-7c1f","answer":"1"}`+"\n", 0o600)
	writeFile(t, filepath.Join(pdir, "good.jsonl"), problemsJSONL(testProblems(2)), 0o644)
	writeFile(t, filepath.Join(pdir, "ten.jsonl"), problemsJSONL(testProblems(10)), 0o644)
	writeFile(t, filepath.Join(pdir, "bad.jsonl"), "rootsecret-line-9d2e\n", 0o644)
	writeFile(t, filepath.Join(pdir, "big.jsonl"), strings.Repeat(problemsJSONL(testProblems(1)), 2000), 0o644)
	must(t, os.Symlink(secret, filepath.Join(pdir, "escape.jsonl")))
	must(t, os.Symlink("/dev/zero", filepath.Join(pdir, "zero.jsonl")))
	must(t, os.Symlink("good.jsonl", filepath.Join(pdir, "inside.jsonl")))
	must(t, os.Mkdir(filepath.Join(pdir, "sub"), 0o755))
	must(t, syscall.Mkfifo(filepath.Join(pdir, "fifo.jsonl"), 0o644))

	toks := map[coordinator.Role]string{}
	const bodyCap = 1 << 20
	s := startSecured(t, env, coordinator.Config{ProblemsDir: pdir, MaxBodyBytes: bodyCap, MaxProblemsFileBytes: 64 << 10, MaxTasksPerJob: 1000},
		coordinator.WithAuth(tokenAuth(toks)), coordinator.WithHTTPTimeouts(coordinator.HTTPTimeouts{ReadHeader: 500 * time.Millisecond, Read: 3 * time.Second}))
	s.waitLeader(t)
	submit := "Bearer " + toks[coordinator.RoleSubmit]
	post := func(t *testing.T, body io.Reader) (int, string) {
		t.Helper()
		got, b, _ := s.call(t, "POST", "/v1/jobs", submit, body)
		var e struct{ Error string }
		if got/100 != 2 && json.Unmarshal([]byte(b), &e) == nil {
			return got, e.Error
		}
		return got, b
	}
	if got, b := post(t, strings.NewReader(fmt.Sprintf(`{"id":"keep","model":%q,"problems_path":"good.jsonl"}`, testModel))); got != 201 {
		t.Fatalf("submit good.jsonl: %d %s", got, b)
	}
	keep, err := s.c.Get(context.Background(), "keep")
	if err != nil {
		t.Fatal(err)
	}

	pathSpec := func(id, path string) string {
		return fmt.Sprintf(`{"id":%q,"model":%q,"problems_path":%q}`, id, testModel, path)
	}
	inline := fmt.Sprintf("%q", problemsJSONL(testProblems(1)))
	for _, tt := range []struct {
		name, body string
		want       int
		has        string // in the answer
	}{
		{"absolute path", pathSpec("h1", "/etc/passwd"), 400, `field "problems_path": "/etc/passwd": want a path relative`},
		{"absolute path that does not exist", pathSpec("h2", "/nonexistent"), 400, `want a path relative`},
		{"dot-dot", pathSpec("h3", "../"+filepath.Base(outside)+"/secret.jsonl"), 400, `without ".."`},
		{"symlink out of the directory", pathSpec("h4", "escape.jsonl"), 400, `leads out of the problems directory`},
		{"symlink to /dev/zero", pathSpec("h5", "zero.jsonl"), 400, `leads out of the problems directory`},
		{"fifo", pathSpec("h6", "fifo.jsonl"), 400, `not a regular file`},
		{"directory", pathSpec("h7", "sub"), 400, `not a regular file`},
		{"missing", pathSpec("h8", "nope.jsonl"), 400, `no such file`},
		{"over the file cap", pathSpec("h9", "big.jsonl"), 400, `over the cap`},
		{"not problems", pathSpec("h10", "bad.jsonl"), 400, `bad.jsonl:1: not a valid problem record`},
		{"samples 2^63-1", fmt.Sprintf(`{"id":"h11","model":%q,"problems_jsonl":%s,"samples":9223372036854775807}`, testModel, inline), 400, `field "samples"`},
		{"samples past int64", fmt.Sprintf(`{"id":"h12","model":%q,"problems_jsonl":%s,"samples":1e400}`, testModel, inline), 400, `"samples"`},
		{"problems × samples over the task cap", fmt.Sprintf(`{"id":"h13","model":%q,"problems_path":"ten.jsonl","samples":101}`, testModel), 400, `10 problems × 101 samples is over the per-job cap of 1000`},
		{"symlink inside the directory", pathSpec("ok1", "inside.jsonl"), 201, `"ok1"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, b := post(t, strings.NewReader(tt.body))
			if got != tt.want || !strings.Contains(b, tt.has) {
				t.Errorf("%d %s, want %d containing %q", got, b, tt.want, tt.has)
			}
			for _, leak := range []string{"TOPSECRET", "rootsecret", "root:x:0"} {
				if strings.Contains(b, leak) {
					t.Errorf("answer leaks file content: %s", b)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}

	t.Run("body over the cap, length given", func(t *testing.T) {
		got, b := post(t, strings.NewReader(`{"model":"m","problems_jsonl":"`+strings.Repeat("x", 2*bodyCap)+`"}`))
		if got != http.StatusRequestEntityTooLarge || !strings.Contains(b, "cap") {
			t.Errorf("%d %s, want 413", got, b)
		}
	})
	t.Run("body over the cap, streamed", func(t *testing.T) {
		// No Content-Length: the cap must cut the decode itself.
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"model":"m","problems_jsonl":"`))
			chunk := []byte(strings.Repeat("y", 64<<10))
			for range bodyCap/len(chunk) + 2 {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Close()
		}()
		got, b := post(t, pr)
		pr.Close()
		if got != http.StatusRequestEntityTooLarge {
			t.Errorf("%d %s, want 413", got, b)
		}
	})
	t.Run("slow headers", func(t *testing.T) {
		conn := dial(t, s.url)
		fmt.Fprintf(conn, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\n") // and never the end of the headers
		expectClosed(t, conn, 15*time.Second)
	})
	t.Run("slow body", func(t *testing.T) {
		conn := dial(t, s.url)
		fmt.Fprintf(conn, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: 100000\r\n\r\n{", submit)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // one byte a tick, never done
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		expectClosed(t, conn, 15*time.Second)
	})

	for _, id := range []string{"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11", "h12", "h13"} {
		if _, err := s.c.Get(context.Background(), id); !errors.Is(err, coordinator.ErrJobNotFound) {
			t.Errorf("refused job %s exists: %v", id, err)
		}
		if _, err := os.Stat(filepath.Join(s.dir, "jobs", id)); !os.IsNotExist(err) {
			t.Errorf("refused job %s left a folder: %v", id, err)
		}
	}
	// File modes: job folders 0750, their files 0640 (they were 0755 and
	// 0644, so a file read from a 0600 source became world-readable).
	for path, want := range map[string]os.FileMode{
		filepath.Join(s.dir, "jobs"):                                       coordinator.DirMode,
		filepath.Join(s.dir, "jobs", "keep"):                               coordinator.DirMode,
		filepath.Join(s.dir, "jobs", "keep", "problems.jsonl"):             0o640,
		filepath.Join(s.dir, "jobs", "keep", coordinator.TrajectoriesFile): 0o640,
		filepath.Join(s.dir, "jobs", "keep", coordinator.DeadLettersFile):  0o640,
	} {
		st, err := os.Stat(path)
		if err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, st.Mode().Perm(), want)
		}
	}
	after, err := s.c.Get(context.Background(), "keep")
	if err != nil || after.Counts.Tasks != keep.Counts.Tasks || after.State.Terminal() {
		t.Errorf("accepted job touched: before %+v after %+v (%v)", keep, after, err)
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(data), mode))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// expectClosed waits until the server ends the connection (EOF, reset, or
// an error status such as 408), failing after limit.
func expectClosed(t *testing.T, conn net.Conn, limit time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	rd := bufio.NewReader(conn)
	for {
		line, err := rd.ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server still holds a slow connection after %v", limit)
		}
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "HTTP/1.1 2") {
			t.Fatalf("slow request served: %s", line)
		}
	}
}
