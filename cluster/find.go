package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Where every command that talks to the fleet looks for it, after its flags.
const (
	// EnvData names a data directory of `hintfleet up`, like --data.
	EnvData = "HINTFLEET_DATA"
	// EnvAPI names the coordinator's URL, like --api.
	EnvAPI = "HINTFLEET_API"
	// DefaultListen is up's and coordinator's default --listen.
	DefaultListen = "127.0.0.1:8700"
	// DefaultAPI is where clients look for the coordinator when nothing else
	// says where it is: DefaultListen.
	DefaultAPI = "http://" + DefaultListen
)

// Need says what a command needs to find: the coordinator's API (submit,
// status, jobs, cancel, top) or the NATS and etcd servers (worker,
// coordinator).
type Need int

const (
	// NeedAPI: the coordinator's URL, and an endpoints file when one is found
	// (its API token).
	NeedAPI Need = iota
	// NeedServers: an endpoints file (NATS and etcd addresses, credentials).
	// A URL alone does not say where the servers are.
	NeedServers
)

// Where is what a command was told about where the fleet is: its flags, as
// given (empty when not), and the environment.
type Where struct {
	// Data is --data DIR: DIR/endpoints.json, written by `hintfleet up`.
	Data string
	// Endpoints is --endpoints FILE (or a folder holding endpoints.json).
	Endpoints string
	// API is --api URL (NeedAPI only). Beside Data or Endpoints it replaces
	// the URL the file names (a proxy in front of the coordinator, say).
	API string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Fleet is what Find found. From says which source gave it, for messages.
type Fleet struct {
	// API is the coordinator's URL (NeedAPI), never empty when Find succeeds.
	API string
	// EndpointsFile is the endpoints file read, if any; Endpoints its content.
	EndpointsFile string
	Endpoints     Endpoints
	// Data is the fleet's data directory when known (--data, $HINTFLEET_DATA
	// or the endpoints file's own record), else empty.
	Data string
	// From names the source: "--data /tmp/fleet", "$HINTFLEET_API", "the default".
	From string
}

// NotFoundError is Find's answer when none of the sources said anything:
// Tried lists each source it looked at, in order. It wraps ErrNoAddress.
type NotFoundError struct {
	Need  Need
	Tried []string
}

// Unwrap makes errors.Is(err, ErrNoAddress) hold.
func (e *NotFoundError) Unwrap() error { return ErrNoAddress }

func (e *NotFoundError) Error() string {
	hint := "give --data DIR (of `hintfleet up`), --endpoints FILE, or --nats URL and --etcd URL"
	return fmt.Sprintf("cannot find the fleet's NATS and etcd: tried %s; %s", strings.Join(e.Tried, ", "), hint)
}

// Find resolves where the fleet is, in one order for every command:
// --data DIR (DIR/endpoints.json), else --endpoints FILE, else --api URL,
// else $HINTFLEET_DATA, else $HINTFLEET_API, else (NeedAPI only)
// DefaultAPI. Flags outrank the environment entirely: a flag given, the
// variables are not read. A source that is named but unusable (a missing
// endpoints file, a file that names no API) is an error naming it, never a
// fall-through to the next source. NeedServers without any file is a
// *NotFoundError that lists what was tried.
func Find(w Where, need Need) (Fleet, error) {
	getenv := w.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var (
		f   Fleet
		err error
	)
	switch {
	case w.Data != "":
		f, err = fromData(w.Data, "--data "+w.Data)
	case w.Endpoints != "":
		f, err = fromEndpoints(w.Endpoints, "--endpoints "+w.Endpoints)
	case w.API != "":
		f = Fleet{API: w.API, From: "--api " + w.API}
	case getenv(EnvData) != "":
		f, err = fromData(getenv(EnvData), "$"+EnvData+"="+getenv(EnvData))
	case getenv(EnvAPI) != "":
		f = Fleet{API: getenv(EnvAPI), From: "$" + EnvAPI + "=" + getenv(EnvAPI)}
	case need == NeedAPI:
		f = Fleet{API: DefaultAPI, From: "the default " + DefaultAPI + ", as none of --data, --endpoints, --api, $" + EnvData + ", $" + EnvAPI + " was given"}
	default:
		return Fleet{}, &NotFoundError{Need: need, Tried: []string{
			"--data (not given)", "--endpoints (not given)",
			"$" + EnvData + " (unset)",
		}}
	}
	if err != nil {
		return Fleet{}, err
	}
	if w.API != "" && f.API != w.API {
		f.API = w.API
		f.From = "--api " + w.API + " (credentials from " + f.From + ")"
	}
	switch {
	case need == NeedServers && f.EndpointsFile == "":
		return Fleet{}, fmt.Errorf("%s: a coordinator URL does not say where NATS and etcd are; give --data DIR, --endpoints FILE, or --nats URL and --etcd URL", f.From)
	case need == NeedAPI && f.API == "":
		return Fleet{}, fmt.Errorf("%s: %s names no coordinator API (up ran with --coordinator=false); pass --api URL", f.From, f.EndpointsFile)
	}
	return f, nil
}

// fromData reads dir's endpoints file; from names the source in errors.
func fromData(dir, from string) (Fleet, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Fleet{}, fmt.Errorf("%s: no such directory", from)
	case err != nil:
		return Fleet{}, fmt.Errorf("%s: %w", from, err)
	case !st.IsDir():
		return Fleet{}, fmt.Errorf("%s: not a directory (want the data directory of `hintfleet up`; an endpoints file goes to --endpoints)", from)
	}
	f, err := fromEndpoints(EndpointsPath(dir), from)
	if errors.Is(err, fs.ErrNotExist) {
		return Fleet{}, fmt.Errorf("%s: no %s there: is `hintfleet up --data %s` running?", from, EndpointsFile, dir)
	}
	if err == nil {
		f.Data = dir
	}
	return f, err
}

// fromEndpoints reads an endpoints file, or the one in a folder.
func fromEndpoints(path, from string) (Fleet, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = EndpointsPath(path)
	}
	e, err := ReadEndpoints(path)
	if err != nil {
		return Fleet{}, fmt.Errorf("%s: %w", from, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return Fleet{API: e.API, EndpointsFile: path, Endpoints: e, Data: e.Data, From: from}, nil
}
