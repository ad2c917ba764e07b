package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/examples/perl"
)

func main() {
	if os.Getenv(plugins.MagicCookieKey) != plugins.MagicCookieValue {
		plugins.Serve(nil) // run by hand: go-plugin says it is a plugin
		return
	}
	tool, err := perl.New(context.Background())
	if err != nil { // sandbox.ErrNoSandbox: no usable bubblewrap
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	plugins.Serve(tool)
}
