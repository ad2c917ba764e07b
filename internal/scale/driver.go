package scale

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/scheduler"
	"github.com/hintfleet/hintfleet/trajectory"
)

// The driver is the harness's second mode (Options.Rate > 0): the load a
// fleet puts on the coordinator, without the fleet. N leases register N
// workers of Sessions capacity each and keep them alive, and a paced loop
// turns tasks over at Rate a second doing to the servers what a worker does
// per task: pull from the pool's consumer, claim in etcd, publish a result
// of realistic size, release with the done marker, ack. What it leaves out
// goes to the servers, not to the coordinator: checkpoints (the CHECKPOINTS
// bucket), AckProgress and the job watch. On a machine whose cores cannot
// run a thousand simulated workers, it shows what the coordinator does at
// the rate a thousand workers of 64 sessions would ask of it.

// driverParallel is how many tasks the driver has between pull and ack at
// once: enough that the round trips of one do not hold up the rate (at 600
// tasks a second and 250 ms of round trips on a loaded machine, 150).
const driverParallel = 256

// resultText is the text of a driver's trajectory: about as long as the
// mixed lengths' mean completion (~2,600 tokens of ~4 bytes, with the
// record's other fields ~22 KB).
var resultText = strings.Repeat("The value of the expression is computed step by step. ", 190)

// driver is a running driver: its dispatch gaps, from a task being wanted
// to its claim, taken with Gaps.
type driver struct {
	mu   sync.Mutex
	gaps []time.Duration
	// pulls and claims are the round trips of the gaps: the pull from the
	// pool's consumer and the claim (one etcd transaction); the rest of a
	// gap is waiting for a free task slot.
	pulls, claims []time.Duration
}

// Phases returns the pull and claim times measured since the last call.
func (d *driver) Phases() (pulls, claims []time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pulls, claims = d.pulls, d.claims
	d.pulls, d.claims = nil, nil
	return pulls, claims
}

// Gaps returns the gaps measured since the last call.
func (d *driver) Gaps() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.gaps
	d.gaps = nil
	return out
}

// register makes o.Workers leases, each registering one worker of
// o.Sessions capacity, on conns (o.WorkersPerConn a connection). The leases
// keep themselves alive until closed.
func register(ctx context.Context, conns []*cluster.Conn, o Options) ([]*cluster.Lease, error) {
	pool := scheduler.PoolFor(Model)
	var leases []*cluster.Lease
	for i := range o.Workers {
		l, err := cluster.NewLease(ctx, conns[i/o.WorkersPerConn].Etcd)
		if err != nil {
			return leases, fmt.Errorf("scale: driver lease: %w", err)
		}
		leases = append(leases, l)
		info := cluster.WorkerInfo{ID: driverID(i), Pool: pool, Model: Model, Capacity: o.Sessions, Health: cluster.HealthOK}
		if err := l.Register(ctx, info); err != nil {
			return leases, fmt.Errorf("scale: driver register: %w", err)
		}
	}
	return leases, nil
}

func driverID(i int) string { return fmt.Sprintf("drv-%04d", i) }

// run turns tasks over at o.Rate a second until ctx ends, each as a worker
// of leases (round robin) would.
func (d *driver) run(ctx context.Context, conns []*cluster.Conn, leases []*cluster.Lease, o Options) error {
	cons, err := cluster.EnsurePoolConsumer(ctx, conns[0].JS, scheduler.PoolFor(Model), cluster.ConsumerOptions{})
	if err != nil {
		return fmt.Errorf("scale: driver: %w", err)
	}
	tokens := make(chan time.Time, driverParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for k := range driverParallel {
		wg.Go(func() {
			for n := k; ; n += driverParallel {
				var wanted time.Time
				select {
				case <-ctx.Done():
					return
				case wanted = <-tokens:
				}
				i := n % len(leases)
				ph, err := driveOne(ctx, conns[i/o.WorkersPerConn], leases[i], driverID(i), cons)
				if err != nil {
					if ctx.Err() == nil {
						o.Log.Debug("driver task", "err", err)
					}
					continue
				}
				d.mu.Lock()
				d.gaps = append(d.gaps, ph.claimed.Sub(wanted))
				d.pulls = append(d.pulls, ph.pulled.Sub(ph.start))
				d.claims = append(d.claims, ph.claimed.Sub(ph.pulled))
				d.mu.Unlock()
			}
		})
	}
	// Pace: Rate tokens a second, handed out every 10 ms. A token finds no
	// taker when every task slot is busy: the rate is not met then, and
	// results/s shows it.
	step := 10 * time.Millisecond
	t := time.NewTicker(step)
	defer t.Stop()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			for owed += o.Rate * step.Seconds(); owed >= 1; owed-- {
				select {
				case tokens <- now:
				default:
				}
			}
		}
	}
}

// phases are the times of one task's way to its claim.
type phases struct{ start, pulled, claimed time.Time }

// driveOne turns one task over as a worker does.
func driveOne(ctx context.Context, conn *cluster.Conn, lease *cluster.Lease, worker string, cons jetstream.Consumer) (phases, error) {
	ph := phases{start: time.Now()}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		return ph, fmt.Errorf("pull: %w", err)
	}
	ph.pulled = time.Now()
	t, err := protocol.DecodeTask(m.Data())
	if err != nil {
		_ = m.Term()
		return ph, fmt.Errorf("decode task: %w", err)
	}
	rev, err := lease.Claim(ctx, t.TaskID, cluster.ClaimValue{Worker: worker, Attempt: t.Attempt, Job: t.JobID, Pool: t.Pool, AckSubject: m.Reply()})
	if errors.Is(err, cluster.ErrDone) || errors.Is(err, cluster.ErrClaimed) || errors.Is(err, cluster.ErrStaleAttempt) {
		_ = m.Ack()
		return ph, err
	}
	if err != nil {
		_ = m.Nak()
		return ph, err
	}
	ph.claimed = time.Now()
	r := protocol.Result{
		JobID: t.JobID, TaskID: t.TaskID, Worker: worker, Lease: int64(lease.ID()), ClaimRevision: rev, Attempt: t.Attempt,
		Trajectory: &trajectory.Trajectory{
			TaskID: t.TaskID, JobID: t.JobID, ProblemID: t.Problem.ID, Sample: t.Sample, Prompt: t.Problem.Question,
			Text: resultText, Answer: "42", FinishReason: "stop", Worker: worker, Attempt: t.Attempt,
			Tokens: trajectory.Tokens{Completion: 2600}, Requests: 1,
		},
	}
	b, err := r.Encode()
	if err != nil {
		return ph, err
	}
	msg := nats.NewMsg(cluster.ResultSubject(t.JobID))
	msg.Data = b
	msg.Header.Set(jetstream.MsgIDHeader, cluster.ResultMsgID(t.TaskID))
	msg.Header.Set(protocol.HeaderJob, t.JobID)
	msg.Header.Set(protocol.HeaderTask, t.TaskID)
	msg.Header.Set(protocol.HeaderAttempt, strconv.Itoa(t.Attempt))
	if _, err := conn.JS.PublishMsg(ctx, msg); err != nil {
		return ph, fmt.Errorf("publish result: %w", err)
	}
	if err := lease.Release(ctx, t.TaskID, rev, true); err != nil {
		return ph, fmt.Errorf("release: %w", err)
	}
	if err := m.Ack(); err != nil {
		return ph, fmt.Errorf("ack: %w", err)
	}
	return ph, nil
}
