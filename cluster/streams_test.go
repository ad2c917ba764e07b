package cluster_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
)

// TestEnsureStreamsUpdatesOnlyWhatDiffers: every coordinator calls
// EnsureStreams at start, beside workers that create consumers. A stream
// that already matches the layout must not be updated (an update races
// with a consumer's creation inside nats-server v2.15.2, which the race
// detector caught in CI); one that differs is updated, and only it.
func TestEnsureStreamsUpdatesOnlyWhatDiffers(t *testing.T) {
	ctx := testCtx(t)
	env := clustertest.Start(t) // has run EnsureStreams with the defaults
	streams := []string{cluster.StreamTasks, cluster.StreamResults, "KV_" + cluster.BucketCheckpoints}
	adv := make(chan *nats.Msg, 256)
	sub, err := env.Conn.NATS.ChanSubscribe("$JS.EVENT.ADVISORY.>", adv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := env.Conn.NATS.Flush(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		opts cluster.StreamOptions
		want []string
	}{
		{"same layout", cluster.StreamOptions{}, nil},
		{"results kept longer", cluster.StreamOptions{ResultsMaxAge: 2 * cluster.DefaultResultsMaxAge}, []string{cluster.StreamResults}},
	} {
		if err := cluster.EnsureStreams(ctx, env.Conn.JS, tc.opts); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := updatedBefore(ctx, t, env.Conn.JS, adv, streams, "barrier-"+strings.ReplaceAll(tc.name, " ", "-")); !slices.Equal(got, tc.want) {
			t.Errorf("%s: EnsureStreams updated %v, want %v", tc.name, got, tc.want)
		}
	}
	s, err := env.Conn.JS.Stream(ctx, cluster.StreamResults)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 2*cluster.DefaultResultsMaxAge {
		t.Errorf("RESULTS max age %v after the update, want %v", got, 2*cluster.DefaultResultsMaxAge)
	}
}

// updatedBefore creates a consumer named barrier on each stream and returns,
// sorted, the streams whose update advisory arrived before that consumer's
// creation advisory. A stream sends both through one queue in order, so an
// update made before the barrier cannot arrive after it: no sleep needed.
func updatedBefore(ctx context.Context, t *testing.T, js jetstream.JetStream, adv <-chan *nats.Msg, streams []string, barrier string) []string {
	t.Helper()
	// On TASKS, a work queue whose consumers may not overlap, the barrier
	// reads a subject of its own that nothing publishes to.
	tasksFilter := strings.TrimSuffix(cluster.TasksStream(cluster.StreamOptions{}).Subjects[0], ">") + barrier
	for _, s := range streams {
		filter := ""
		if s == cluster.StreamTasks {
			filter = tasksFilter
		}
		if _, err := js.CreateConsumer(ctx, s, jetstream.ConsumerConfig{Durable: barrier, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatalf("create consumer %s on %s: %v", barrier, s, err)
		}
	}
	const updated, created = "$JS.EVENT.ADVISORY.STREAM.UPDATED.", "$JS.EVENT.ADVISORY.CONSUMER.CREATED."
	var got []string
	waiting := slices.Clone(streams)
	for len(waiting) > 0 {
		select {
		case m := <-adv:
			if s, ok := strings.CutPrefix(m.Subject, updated); ok && slices.Contains(waiting, s) {
				got = append(got, s)
			}
			if rest, ok := strings.CutPrefix(m.Subject, created); ok {
				waiting = slices.DeleteFunc(waiting, func(s string) bool { return rest == s+"."+barrier })
			}
		case <-ctx.Done():
			t.Fatalf("no creation advisory for consumer %s on %v", barrier, waiting)
		}
	}
	slices.Sort(got)
	return got
}
