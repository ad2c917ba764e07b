// Command hintfleet-example-echo is the example Go tool plugin: the echo tool
// behind go-plugin's handshake. A Go plugin's main is this one call.
package main

import (
	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/examples/echo"
)

func main() {
	plugins.Serve(echo.New())
}
