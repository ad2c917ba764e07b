package worker

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
)

// jobWatch keeps the set of cancelled jobs from the registry, by one list
// and a watch from the list's revision, so a task of a cancelled job is
// dropped before it starts and stopped if it runs.
type jobWatch struct {
	cli      *clientv3.Client
	log      *slog.Logger
	onCancel func(job string)

	mu        sync.Mutex
	cancelled map[string]bool
}

func newJobWatch(cli *clientv3.Client, log *slog.Logger, onCancel func(string)) *jobWatch {
	return &jobWatch{cli: cli, log: log, onCancel: onCancel, cancelled: map[string]bool{}}
}

func (j *jobWatch) isCancelled(job string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cancelled[job]
}

func (j *jobWatch) see(key string, value []byte) {
	st, err := protocol.JobStateOf(value)
	if err != nil || st != protocol.JobCancelled {
		return
	}
	j.mu.Lock()
	was := j.cancelled[key]
	j.cancelled[key] = true
	j.mu.Unlock()
	if !was {
		j.onCancel(key)
	}
}

// run lists and watches until ctx ends, starting over after an error.
func (j *jobWatch) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := j.watch(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("watch jobs", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (j *jobWatch) watch(ctx context.Context) error {
	resp, err := j.cli.Get(ctx, cluster.JobsPrefix, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	for _, kv := range resp.Kvs {
		j.see(jobOf(kv.Key), kv.Value)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := j.cli.Watch(clientv3.WithRequireLeader(wctx), cluster.JobsPrefix, clientv3.WithPrefix(),
		clientv3.WithRev(resp.Header.Revision+1), clientv3.WithFilterDelete())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			j.see(jobOf(ev.Kv.Key), ev.Kv.Value)
		}
	}
	return ctx.Err()
}

// jobOf is the job id of a registry key. Job ids are plain tokens
// (coordinator validates them), so the key holds them unescaped.
func jobOf(key []byte) string { return strings.TrimPrefix(string(key), cluster.JobsPrefix) }
