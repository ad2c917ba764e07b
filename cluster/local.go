package cluster

import (
	"context"
	"errors"
	"fmt"
)

// Local is a single node's whole cluster, as `hintfleet up` and tests run
// it: the embedded servers, a connection to them, and the streams and
// bucket made, so that workers may start before any coordinator.
type Local struct {
	*Embedded
	Conn *Conn
}

// StartLocal starts the embedded servers in dir (StartEmbedded), connects
// and ensures the streams with the default options. On an error nothing
// is left running.
func StartLocal(ctx context.Context, dir string, opts ...EmbeddedOption) (*Local, error) {
	emb, err := StartEmbedded(ctx, dir, opts...)
	if err != nil {
		return nil, err
	}
	conn, err := Connect(ctx, emb.Config())
	if err != nil {
		_ = emb.Close()
		return nil, fmt.Errorf("connect to the embedded servers: %w", err)
	}
	if err := EnsureStreams(ctx, conn.JS, StreamOptions{}); err != nil {
		return nil, errors.Join(err, conn.Close(), emb.Close())
	}
	return &Local{Embedded: emb, Conn: conn}, nil
}

// Close closes the connection, then the servers.
func (l *Local) Close() error { return errors.Join(l.Conn.Close(), l.Embedded.Close()) }
