// Package plugins is hintfleet's tool SDK: the Tool interface every tool
// implements, the go-plugin handshake and plugin map that host and plugins
// share, the gRPC adapters that carry Tool across a process boundary, and
// Serve, which makes a plugin's main one call.
//
// The layout follows go-plugin's examples/grpc: one shared package imported by
// both sides. The host-side manager (discovery, checksums, health, restart)
// lives in plugins/host, which imports this package and never the reverse.
// Unlike go-plugin's example KV interface, Tool takes a ctx on every call, and
// the adapters carry its deadline and cancellation over gRPC.
package plugins
