package sim

import (
	"math/rand/v2"
	"sync"
	"time"
)

// maxLag bounds how far the scheduler may fall behind its simulated clock
// before it gives up catching up (after a GC pause or a suspended process).
const maxLag = time.Second

// engine is the simulated GPU: continuous batching over sequences, one
// scheduler goroutine stepping every running sequence at once. Handlers
// submit sequences and read their text; the scheduler never blocks on a
// reader.
type engine struct {
	clock   Clock
	metrics *metrics
	filler  func(i int) string

	mu      sync.Mutex
	model   Model // SlowDown changes at run time
	cfg     Config
	faults  Faults
	rng     *rand.Rand // fault draws; guarded by mu
	kv      *kvCache
	waiting []*sequence
	running []*sequence
	closed  bool
	wake    chan struct{} // capacity 1
}

func newEngine(cfg Config, clock Clock, m *metrics) *engine {
	return &engine{
		clock:   clock,
		metrics: m,
		filler:  fillerPiece,
		cfg:     cfg,
		faults:  cfg.Faults,
		rng:     rand.New(rand.NewPCG(cfg.FaultSeed, 0x5eed)),
		model: Model{
			StepBase: cfg.StepBase, StepPerSeq: cfg.StepPerSeq, PrefillPerToken: cfg.PrefillPerToken,
			Speedup: cfg.Speedup, SlowDown: cfg.SlowDown,
		},
		kv:   newKVCache(cfg.KVCacheTokens),
		wake: make(chan struct{}, 1),
	}
}

// submit queues s. It returns false when the waiting queue is full (the
// caller answers 503) or the engine has shut down.
func (e *engine) submit(s *sequence) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || (e.cfg.MaxWaiting > 0 && len(e.waiting) >= e.cfg.MaxWaiting) {
		return false
	}
	s.needPrefill = len(s.prompt)
	for _, st := range s.stop {
		s.holdback = max(s.holdback, len(st)-1)
	}
	e.waiting = append(e.waiting, s)
	e.metrics.waiting.Set(float64(len(e.waiting)))
	e.poke()
	return true
}

// abort takes s out of the engine, freeing its blocks; the reader calls it
// when its client went away.
func (e *engine) abort(s *sequence) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.done {
		return
	}
	s.aborted = true
	e.remove(s)
	e.poke()
}

// remove drops s from the queues and frees its blocks. Called with mu held.
func (e *engine) remove(s *sequence) {
	if s.running {
		gen := s.generatedBlocks()
		if len(gen) > s.anonBlocks {
			gen = gen[:s.anonBlocks]
		}
		e.kv.release(s.hashes, s.anonBlocks-len(gen))
		e.kv.retire(nil, gen, 0)
		s.anonBlocks, s.running = 0, false
	}
	e.waiting = deleteSeq(e.waiting, s)
	e.running = deleteSeq(e.running, s)
	s.done = true
	s.signal()
	e.metrics.running.Set(float64(len(e.running)))
	e.metrics.waiting.Set(float64(len(e.waiting)))
	e.metrics.kvUsage.Set(e.kv.usage())
}

func deleteSeq(list []*sequence, s *sequence) []*sequence {
	for i, x := range list {
		if x == s {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

func (e *engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// setSlowDown changes the step-time multiplier from the next step on.
func (e *engine) setSlowDown(f float64) {
	e.mu.Lock()
	e.model.SlowDown = f
	e.mu.Unlock()
}

func (e *engine) snapshot() (Model, Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.model, e.faults
}

func (e *engine) setFaults(f Faults) {
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
}

// draw returns a seeded uniform number in [0, 1) for a fault decision.
func (e *engine) draw() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rng.Float64()
}

// run is the scheduler loop. It returns when stop is closed, after finishing
// every sequence left in the engine so that no reader waits forever.
func (e *engine) run(stop <-chan struct{}) {
	defer e.shutdown()
	var next time.Time // simulated deadline of the next step, on the wall
	for {
		batch, prefill := e.plan()
		if batch == 0 {
			select {
			case <-stop:
				return
			case <-e.wake:
				next = time.Time{}
				continue
			}
		}
		model, faults := e.snapshot()
		d := model.StepTime(batch, prefill)
		if faults.SpikeRate > 0 && e.draw() < faults.SpikeRate {
			d += faults.SpikeDuration
		}
		now := e.clock.Now()
		if next.IsZero() || now.Sub(next) > maxLag {
			next = now
		}
		next = next.Add(model.Wall(d))
		if wait := next.Sub(now); wait > 0 {
			select {
			case <-stop:
				return
			case <-e.clock.After(wait):
			}
		}
		e.step()
	}
}

// plan admits waiting sequences while the batch and the KV cache have room,
// makes room for every running sequence's next token (preempting the newest
// when the cache is full, as vLLM's recompute preemption), and returns the
// batch size and the prompt tokens to prefill in the coming step.
func (e *engine) plan() (batch, prefill int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Grow running sequences first; they have priority over new ones.
	for i := 0; i < len(e.running); {
		s := e.running[i]
		if e.grow(s) {
			i++
			continue
		}
		// When s itself is the newest it goes, and the loop ends.
		e.preempt(e.running[len(e.running)-1])
	}
	for len(e.waiting) > 0 && len(e.running) < e.cfg.MaxNumSeqs {
		s := e.waiting[0]
		if !e.admit(s) {
			break // first come first served: the head blocks the queue
		}
		e.waiting = e.waiting[1:]
		e.running = append(e.running, s)
	}
	for _, s := range e.running {
		prefill += s.needPrefill
	}
	e.metrics.running.Set(float64(len(e.running)))
	e.metrics.waiting.Set(float64(len(e.waiting)))
	e.metrics.kvUsage.Set(e.kv.usage())
	return len(e.running), prefill
}

// blocksFor is the number of anonymous blocks s needs to hold its next token.
func (s *sequence) blocksFor() int {
	tokens := len(s.prompt) + s.generated + 1
	return (tokens+BlockSize-1)/BlockSize - len(s.hashes)
}

// admit allocates s's blocks, reusing cached prompt blocks, and records the
// prefix-cache query.
func (e *engine) admit(s *sequence) bool {
	hit := e.kv.cachedPrefix(s.hashes) * BlockSize
	// At least one prompt token is always computed, as in vLLM.
	hit = min(hit, (len(s.prompt)-1)/BlockSize*BlockSize)
	hit = max(hit, 0)
	need := s.blocksFor()
	if !e.kv.allocate(s.hashes, need) {
		return false
	}
	s.anonBlocks, s.running = need, true
	e.metrics.prefixQueries.Add(float64(len(s.prompt)))
	e.metrics.prefixHits.Add(float64(hit))
	s.hitTokens = hit
	// A preempted sequence recomputes what it had generated too.
	s.needPrefill = len(s.prompt) - hit + s.generated
	return true
}

// grow makes sure s holds a block for its next token.
func (e *engine) grow(s *sequence) bool {
	need := s.blocksFor() - s.anonBlocks
	if need <= 0 {
		return true
	}
	if !e.kv.allocate(nil, need) {
		return false
	}
	s.anonBlocks += need
	return true
}

// preempt sends s back to the head of the waiting queue, freeing its blocks.
func (e *engine) preempt(s *sequence) {
	e.kv.release(s.hashes, s.anonBlocks)
	s.anonBlocks, s.running = 0, false
	e.running = deleteSeq(e.running, s)
	e.waiting = append([]*sequence{s}, e.waiting...)
	e.metrics.preemptions.Inc()
}

// step gives every running sequence its next token and retires the
// finished ones.
func (e *engine) step() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	model := e.model
	var newTokens, promptTokens int
	for i := 0; i < len(e.running); i++ {
		s := e.running[i]
		if s.needPrefill > 0 && s.generated == 0 {
			promptTokens += len(s.prompt)
		}
		s.needPrefill = 0
		if s.generated == 0 {
			s.firstToken = now
			e.metrics.ttft.Observe(model.Simulated(now.Sub(s.arrival)).Seconds())
		}
		finished := s.advance(e.filler)
		newTokens++
		if finished {
			e2e := model.Simulated(now.Sub(s.arrival)).Seconds()
			e.metrics.e2e.Observe(e2e)
			e.metrics.done(len(s.prompt), s.generated, e2e)
			e.remove(s)
			i--
			continue
		}
		s.signal()
	}
	e.metrics.promptTokens.Add(float64(promptTokens))
	e.metrics.genTokens.Add(float64(newTokens))
	e.metrics.running.Set(float64(len(e.running)))
	e.metrics.kvUsage.Set(e.kv.usage())
}

// shutdown ends every sequence still in the engine so that readers return.
func (e *engine) shutdown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for _, s := range append(append([]*sequence(nil), e.running...), e.waiting...) {
		s.closed = true
		e.remove(s)
	}
}

// progress is what a reader sees of a sequence at one moment.
type progress struct {
	delta      string // text released since the last read
	over       bool   // the sequence left the engine
	finish     string // finish reason once over, "" if it did not finish
	stopReason any
	generated  int
	closed     bool // the engine shut down under it
}

// read takes the text of s released since the last read.
func (e *engine) read(s *sequence) progress {
	e.mu.Lock()
	defer e.mu.Unlock()
	delta, over := s.take()
	return progress{delta: delta, over: over, finish: s.finish, stopReason: s.stopReason,
		generated: s.generated, closed: s.closed}
}
