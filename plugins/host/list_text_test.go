package host

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteListAndListErr(t *testing.T) {
	infos := []PluginInfo{
		{Name: "python", Version: "1.0", Languages: []string{"python", "py"}, Checksum: "ok", Healthy: true, Path: "/p/python"},
		{Name: "bash", Path: "/p/bash", Error: "exec format error"},
	}
	var b bytes.Buffer
	if err := WriteList(&b, infos); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "python,py") ||
		strings.Fields(lines[2])[1] != "-" {
		t.Errorf("WriteList:\n%s", b.String())
	}
	err := ListErr(infos)
	if err == nil || err.Error() != "plugin bash: exec format error" {
		t.Errorf("ListErr = %v, want the one plugin that is down", err)
	}
	if err := ListErr(infos[:1]); err != nil {
		t.Errorf("ListErr of running plugins = %v", err)
	}
}
