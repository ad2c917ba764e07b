package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/scheduler"
)

// pools is what the live workers' registrations say about models: the
// workers of each pool and the models served, sorted.
type pools struct {
	workers map[string]int // pool → live workers
	models  []string
}

// livePools reads the workers' registrations from etcd.
func (c *Coordinator) livePools(ctx context.Context) (pools, error) {
	resp, err := c.conn.Etcd.Get(ctx, cluster.WorkersPrefix, clientv3.WithPrefix())
	if err != nil {
		return pools{}, fmt.Errorf("list workers: %w", err)
	}
	p := pools{workers: map[string]int{}}
	for _, kv := range resp.Kvs {
		var info cluster.WorkerInfo
		if json.Unmarshal(kv.Value, &info) != nil {
			continue
		}
		p.workers[info.Pool]++
		if info.Model != "" && !slices.Contains(p.models, info.Model) {
			p.models = append(p.models, info.Model)
		}
	}
	slices.Sort(p.models)
	return p, nil
}

// serves reports whether a live worker takes tasks of model.
func (p pools) serves(model string) bool { return p.workers[scheduler.PoolFor(model)] > 0 }

// served lists the models for messages.
func (p pools) served() string {
	if len(p.models) == 0 {
		return "no worker is registered"
	}
	return "live workers serve " + strings.Join(p.models, ", ")
}

// waiting is the reason a job with queued tasks of model does not move, or
// "" when a live worker serves it.
func (p pools) waiting(model string, queued int) string {
	if queued == 0 || p.serves(model) {
		return ""
	}
	return fmt.Sprintf("waiting for a worker of model %q (%s)", model, p.served())
}

// placeModel fills spec.Model when it is empty (the one model the live
// workers serve) and refuses a model that no live worker serves while
// others are registered (a typo would otherwise wait forever) unless
// spec.WaitForWorker. With no worker registered at all the fleet is still
// starting: the job is accepted and shows why it waits (Job.Waiting). The
// reason to wait is returned with the model placed.
func (c *Coordinator) placeModel(ctx context.Context, spec *JobSpec) (string, error) {
	p, err := c.livePools(ctx)
	if err != nil {
		return "", err
	}
	if spec.Model == "" {
		if len(p.models) != 1 {
			return "", fmt.Errorf("%w: %s: field \"model\": missing, and the live workers do not name one (%s); give the model", ErrInvalidSpec, specName, p.served())
		}
		spec.Model = p.models[0]
		return "", nil
	}
	if len(p.workers) == 0 || p.serves(spec.Model) || spec.WaitForWorker {
		return p.waiting(spec.Model, 1), nil
	}
	return "", fmt.Errorf("%w: model %q: %s; start a worker with that --model, or submit with wait_for_worker (--wait-for-worker) to hold the job until one registers",
		ErrNoWorker, spec.Model, p.served())
}
