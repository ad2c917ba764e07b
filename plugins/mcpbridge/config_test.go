package mcpbridge

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mcp.yaml")
	good := `servers:
  - name: everything
    command: [node, ./servers/index.js, stdio]
    env: [LOG=warn]
    tools: [echo]
  - name: files_2
    command: [/usr/bin/mcp-files]
    dir: /srv
timeout: 5s
output_bytes: 1024
`
	cfg, err := ParseConfig(path, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Servers[0]; got.Dir != dir || got.Command[0] != "node" || got.Command[1] != "./servers/index.js" {
		t.Errorf("server 0: %+v; want dir %s and a bare program name kept", got, dir)
	}
	if got := cfg.Servers[1]; got.Dir != "/srv" || got.Command[0] != "/usr/bin/mcp-files" {
		t.Errorf("server 1: %+v", got)
	}
	if cfg.callTimeout() != 5*time.Second || cfg.outputBytes() != 1024 {
		t.Errorf("timeout %v output %d", cfg.callTimeout(), cfg.outputBytes())
	}
	rel, err := ParseConfig(path, []byte("servers:\n  - name: a\n    command: [bin/server]\n    dir: sub\n"))
	if err != nil || rel.Servers[0].Command[0] != filepath.Join(dir, "sub", "bin/server") {
		t.Errorf("relative program: %+v, %v; want it resolved against dir", rel, err)
	}

	bad := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "servers:\n  - name: a\n    comand: [x]\n", []string{"mcp.yaml", "line 3", "comand"}},
		{"no servers", "timeout: 5s\n", []string{`field "servers"`}},
		{"bad timeout", "servers:\n  - name: a\n    command: [x]\ntimeout: soon\n", []string{"line 4", "soon"}},
		{"every server problem at once", "servers:\n  - name: A.b\n    command: []\n  - name: ok\n    command: [x]\n    env: [NOEQUALS]\n  - name: ok\n    command: [y]\n",
			[]string{"mcp.yaml:2: field \"name\"", "mcp.yaml:2: field \"command\"", "mcp.yaml:4: field \"env\"", "mcp.yaml:7: field \"name\": server \"ok\" named twice"}},
		{"negative output", "servers:\n  - name: a\n    command: [x]\noutput_bytes: -1\n", []string{`field "output_bytes"`}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(path, []byte(tt.body))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("servers:\n  - name: a\n    command: [x, y]\n    tools: [echo]\ntimeout: 1s\n")
	f.Add(`{"servers": [{"name": "a", "command": ["x"]}]}`)
	f.Add("servers: [")
	f.Fuzz(func(t *testing.T, body string) {
		cfg, err := ParseConfig("/cfg/mcp.yaml", []byte(body))
		if err != nil {
			return
		}
		for _, s := range cfg.Servers {
			if len(s.problems()) > 0 || !filepath.IsAbs(s.Dir) {
				t.Fatalf("accepted an invalid server %+v", s)
			}
		}
	})
}
