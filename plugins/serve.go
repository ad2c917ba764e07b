package plugins

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ServeOption tunes Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	logger      hclog.Logger
	grpcOptions []grpc.ServerOption
}

// WithServeLogger sets the logger go-plugin uses inside the plugin process.
// Its output goes to the plugin's stderr, which the host relays into its own
// log; the default writes JSON, which the host parses into fields.
func WithServeLogger(l hclog.Logger) ServeOption {
	return func(c *serveConfig) { c.logger = l }
}

// WithGRPCServerOptions adds options to the plugin's gRPC server (message
// size limits, interceptors). go-plugin adds the TLS credentials itself.
func WithGRPCServerOptions(opts ...grpc.ServerOption) ServeOption {
	return func(c *serveConfig) { c.grpcOptions = append(c.grpcOptions, opts...) }
}

// Serve runs impl as a hintfleet tool plugin and returns when the host tells
// the plugin to shut down (or the host goes away). It is the whole main of a
// Go plugin:
//
//	func main() { plugins.Serve(echo.New()) }
//
// Run by hand, outside a host, the plugin prints that it is a plugin and
// exits with status 1: the handshake cookie is missing.
func Serve(impl Tool, opts ...ServeOption) {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	sc := &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginMap(impl),
		Logger:          cfg.logger,
		GRPCServer: func(base []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(base, cfg.grpcOptions...))
		},
	}
	plugin.Serve(sc)
}
