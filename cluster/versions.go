package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The oldest servers hintfleet runs against; Connect refuses older ones
// with ErrServerTooOld instead of failing later on a request the server
// does not know. Both are the releases Debian 12 packages (nats-server
// 2.9.10, etcd 3.4.23 as etcd-server), which a test in `make test` runs a
// job through.
const (
	// MinNATSVersion: 2.9 is the first NATS server with the JetStream
	// features hintfleet relies on: consumers created through
	// $JS.API.CONSUMER.CREATE.<stream>.<consumer>.<filter> (what nats.go's
	// jetstream client sends, and all the worker user may send) and KV
	// buckets read by direct get ($JS.API.DIRECT.GET, AllowDirect).
	MinNATSVersion = "2.9.0"
	// MinEtcdVersion: 3.4 is the oldest etcd hintfleet is tested against
	// (Debian 12's 3.4.23); 3.3 and older are past etcd's own support, and
	// the client hintfleet embeds (v3.7) is not tested against them.
	MinEtcdVersion = "3.4.0"
)

// ErrServerTooOld: a server's version is below MinNATSVersion or
// MinEtcdVersion. The error wrapping it names the server, its version and
// the version required.
var ErrServerTooOld = errors.New("server too old")

// version is a release number, major.minor.patch.
type version [3]int

// parseVersion reads "2.9.10", "v3.4.23" or "2.11.0-RC.1" (a pre-release
// counts as its release).
func parseVersion(s string) (version, error) {
	var v version
	core, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(s), "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, fmt.Errorf("version %q: want major.minor.patch", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q: want major.minor.patch", s)
		}
		v[i] = n
	}
	return v, nil
}

func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

// checkVersion reports whether server at addr, at version have, meets need.
func checkVersion(server, addr, have, need string) error {
	h, err := parseVersion(have)
	if err != nil {
		return fmt.Errorf("%s at %s: %w", server, addr, err)
	}
	n, err := parseVersion(need)
	if err != nil {
		return err
	}
	if h.less(n) {
		return fmt.Errorf("%w: %s at %s is %s; hintfleet needs %s %s or newer", ErrServerTooOld, server, addr, have, server, need)
	}
	return nil
}

// checkNATSVersion checks the server nc is connected to.
func checkNATSVersion(nc *nats.Conn) error {
	return checkVersion("nats-server", nc.ConnectedUrlRedacted(), nc.ConnectedServerVersion(), MinNATSVersion)
}

// checkEtcdVersion asks every endpoint its version at once and checks the
// first answer (the members of a cluster run one release, rolling upgrades
// aside); an endpoint that is down does not hold Connect up, and none
// answering is an error.
func checkEtcdVersion(ctx context.Context, cli *clientv3.Client, endpoints []string) error {
	ctx, cancel := context.WithCancel(ctx)
	type answer struct {
		ep, version string
		err         error
	}
	answers := make(chan answer, len(endpoints))
	var wg sync.WaitGroup
	for _, ep := range endpoints {
		wg.Go(func() {
			st, err := cli.Status(ctx, ep)
			if err != nil {
				answers <- answer{ep: ep, err: fmt.Errorf("etcd version of %s: %w", ep, err)}
				return
			}
			answers <- answer{ep: ep, version: st.Version}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	var errs []error
	for range endpoints {
		a := <-answers
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		return checkVersion("etcd", a.ep, a.version, MinEtcdVersion)
	}
	return errors.Join(errs...)
}
