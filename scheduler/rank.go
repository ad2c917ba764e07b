package scheduler

import (
	"hash/fnv"
	"math"
)

// Candidate is a feasible worker being scored.
type Candidate struct {
	Worker Worker
	// Score is the sum of the rankers' scores; the highest wins.
	Score float64
	// HRW is the worker's rendezvous weight for the task's problem; it breaks
	// ties so that the second choice is as stable as the first.
	HRW uint64
	// Affine marks the candidate AffinityRank preferred and kept.
	Affine bool
}

// Ranker adds to candidates' scores, in the manner of Nomad's RankIterator.
// It sees all feasible candidates at once because some scores are relative
// (load against the least loaded).
type Ranker interface {
	Rank(t Task, cands []Candidate)
}

// HRW is the rendezvous (highest random weight) hash of a problem on a
// worker. The worker with the highest weight for a problem is its affine
// worker; when workers come and go only the problems of those workers move.
func HRW(problemID, workerID string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(problemID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(workerID))
	// fnv alone mixes the last bytes poorly; finish with splitmix64.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// DefaultAffinitySlack is how many more tasks than the least-loaded feasible
// worker the affine worker may hold and still get the next sample. A few
// extra on one engine cost less than a lost prefix cache; many cost the
// fleet's balance.
const DefaultAffinitySlack = 2

// affinityBonus outweighs any load score (which lies in [-1, 0]).
const affinityBonus = 10

// AffinityRank prefers the worker whose engine likely holds the problem's
// prefix in cache: the HRW winner among feasible workers. The preference
// yields to load: if the winner holds more than Slack tasks above the least
// loaded candidate, it gets no bonus and load decides. Liveness and capacity
// are the filters' business, so a dead or full winner is never waited for.
type AffinityRank struct{ Slack int }

// Rank implements Ranker.
func (a AffinityRank) Rank(t Task, cands []Candidate) {
	if len(cands) == 0 || t.ProblemID == "" {
		return
	}
	best, minLoad := 0, math.MaxInt
	for i := range cands {
		if cands[i].HRW > cands[best].HRW {
			best = i
		}
		minLoad = min(minLoad, cands[i].Worker.InFlight)
	}
	if cands[best].Worker.InFlight <= minLoad+a.Slack {
		cands[best].Score += affinityBonus
		cands[best].Affine = true
	}
}

// LoadRank prefers the least utilised worker: score -InFlight/Capacity.
type LoadRank struct{}

// Rank implements Ranker.
func (LoadRank) Rank(_ Task, cands []Candidate) {
	for i := range cands {
		w := cands[i].Worker
		if w.Capacity > 0 {
			cands[i].Score -= float64(w.InFlight) / float64(w.Capacity)
		}
	}
}
