package plugins

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	toolpb "github.com/hintfleet/hintfleet/plugins/proto"
)

// ProtocolVersion is the application protocol a plugin speaks: the second
// field of go-plugin's handshake line. Bump it, and keep serving the old
// version beside the new one, only for a change that old plugins cannot
// follow; adding proto fields does not need a bump.
const ProtocolVersion = 1

// MagicCookieKey and MagicCookieValue are the environment variable and value
// the host sets when it starts a plugin. They are not a secret or a security
// measure: a plugin binary run by hand sees the cookie missing and says it is
// a plugin instead of hanging on an unexpected protocol.
const (
	MagicCookieKey   = "HINTFLEET_PLUGIN"
	MagicCookieValue = "7c0f3d2e-tool-plugin-b5a1"
)

// PluginName is the one key of PluginMap: every hintfleet plugin dispenses
// a single Tool under this name.
const PluginName = "tool"

// Handshake is the go-plugin handshake host and plugins must agree on.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   MagicCookieKey,
	MagicCookieValue: MagicCookieValue,
}

// PluginMap is the plugin set the host dispenses from. The host dispenses
// with a nil Impl; a plugin's Serve sets Impl to its tool.
func PluginMap(impl Tool) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{PluginName: &GRPCPlugin{Impl: impl}}
}

// GRPCPlugin is the go-plugin glue for Tool over gRPC. Only gRPC is
// supported: net/rpc cannot carry contexts and is Go-only.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the tool a plugin serves; nil on the host side.
	Impl Tool
}

// GRPCServer registers Impl on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("serve tool: no implementation")
	}
	toolpb.RegisterToolServer(s, &GRPCServer{Impl: p.Impl})
	return nil
}

// GRPCClient returns a Tool that calls the plugin over conn.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewGRPCClient(conn), nil
}
