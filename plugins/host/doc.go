// Package host runs tool plugins for hintfleet: it finds them (a directory
// of executables or a config list), checks each binary's SHA-256 before it
// runs, starts them under go-plugin with automatic mTLS, routes a code block
// to the plugin that handles its fence language, health-checks them, and
// restarts a dead one with exponential backoff, which go-plugin itself does
// not do.
//
// Plugins run in their own process group with a parent-death signal, so no
// plugin outlives the host, even when the host is killed with SIGKILL.
//
// Imports point one way: host imports plugins; plugins never imports host.
package host
