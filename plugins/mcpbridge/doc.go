// Package mcpbridge is the MCP bridge tool: a plugins.Tool that starts the
// Model Context Protocol servers its config names (over stdio, with the
// official Go SDK, github.com/modelcontextprotocol/go-sdk), lists their
// tools, and serves each one as a fence language
//
//	```mcp:<server>.<tool>
//	{"message": "hello"}
//	```
//
// whose body is the JSON object of the tool's arguments. The tool's result
// becomes the ```output block: its text parts one per line (images, audio
// and binary resources as a bracketed line saying what they were; a result
// with only structured content as its JSON). A result the tool marks
// isError, or a call the server refuses (unknown or invalid arguments), is
// output on stderr with exit code 1; a body that is not a JSON object gets
// exit code 2 and says why, so the model can correct itself.
//
// Languages are lowercase, as hintfleet's fence parser reads them; two tools
// of one server whose names differ only in case cannot both be served (the
// second is skipped with a warning). Server names may not contain '.'.
//
// A server that dies is started again on the next call; the call it died
// under reports KindCrashed. Servers inherit the plugin's environment (which
// the host cut down to PATH, LANG, TMPDIR and the plugin's env) plus their
// config's env, get the kernel's SIGKILL when the bridge dies, and are
// stopped by Shutdown (stdin closed, then SIGTERM, then SIGKILL).
//
// The bridge does not sandbox the servers: they are programs the operator
// chose and configured, and the model reaches them only through their tools'
// arguments. Limit what it can reach with a server's tools list, and run a
// server whose tools touch the host (files, shell) inside its own sandbox.
//
// plugins/cmd/hintfleet-mcp is the plugin binary; docs/hints.md has the hint
// and prompt text that teach a model the fence.
package mcpbridge
