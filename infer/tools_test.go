package infer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins"
)

// refusingRouter routes nothing and, like *host.Manager's Lookup, says why.
type refusingRouter struct{}

func (refusingRouter) Tool(string) (plugins.Tool, bool) { return nil, false }
func (refusingRouter) Languages() []string              { return nil }
func (refusingRouter) Lookup(lang string) (plugins.Tool, error) {
	return nil, errors.New("plugin hintfleet-bash refused: rebuild and re-sum the plugins with `make plugins`")
}

// TestToolsSayWhyNoTool: a block in a language whose plugin was refused
// fails with the router's reason, not a bare "no plugin".
func TestToolsSayWhyNoTool(t *testing.T) {
	sess, err := (&infer.Tools{Router: refusingRouter{}}).Open(context.Background(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sess.Exec(context.Background(), "bash", "echo hi")
	if err == nil || !strings.Contains(err.Error(), "make plugins") {
		t.Errorf("Exec in a refused plugin's language: %v; want the refusal and its fix", err)
	}
}
