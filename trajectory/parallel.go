package trajectory

import (
	"errors"
	"io"
	"sync"
)

// Batching bounds for parallel decoding: big enough that channel hand-offs
// cost nothing next to decoding, small enough that memory stays bounded by
// about 2 × workers × batchBytes (plus one over-long line).
const (
	batchLines = 256
	batchBytes = 1 << 20
)

// batch is a run of consecutive lines, decoded by one worker.
type batch[T any] struct {
	data  []byte // the lines, back to back
	ends  []int  // end offset of each line in data
	lines []int  // line number of each line
	errs  []error
	vals  []T
	tail  error // the error that ended the input after these lines (read error)
	done  chan struct{}
}

// pipeline splits lines on one goroutine, decodes batches on n, and hands
// them back in order through the order channel. stop (from Close) ends
// every goroutine and waits for them.
type pipeline[T any] struct {
	order    chan *batch[T]
	work     chan *batch[T]
	quit     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	cur *batch[T] // batch being handed out by Next
	pos int
}

func (r *Reader[T]) startPipeline() {
	n := r.cfg.workers
	p := &pipeline[T]{
		order: make(chan *batch[T], 2*n),
		work:  make(chan *batch[T], 2*n),
		quit:  make(chan struct{}),
	}
	r.par = p
	p.wg.Add(1 + n)
	go func() {
		defer p.wg.Done()
		defer close(p.work)
		defer close(p.order)
		r.split(p)
	}()
	for range n {
		go func() {
			defer p.wg.Done()
			for b := range p.work {
				r.decodeBatch(b)
			}
		}()
	}
}

// split reads lines into batches and queues each both in file order (for
// Next) and for a worker. Line-level errors (too long) travel in the batch.
func (r *Reader[T]) split(p *pipeline[T]) {
	newBatch := func() *batch[T] {
		return &batch[T]{data: make([]byte, 0, batchBytes), done: make(chan struct{})}
	}
	b := newBatch()
	send := func() bool {
		select {
		case p.order <- b:
		case <-p.quit:
			return false
		}
		select {
		case p.work <- b:
		case <-p.quit:
			return false
		}
		b = newBatch()
		return true
	}
	for {
		line, err := r.NextLine()
		if err == io.EOF {
			if len(b.lines) > 0 {
				send()
			}
			return
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			b.tail = err
			send()
			return
		}
		if err == nil {
			b.data = append(b.data, line...)
		}
		b.ends = append(b.ends, len(b.data))
		b.lines = append(b.lines, r.line)
		b.errs = append(b.errs, err)
		if len(b.lines) >= batchLines || len(b.data) >= batchBytes {
			if !send() {
				return
			}
		}
	}
}

func (r *Reader[T]) decodeBatch(b *batch[T]) {
	defer close(b.done)
	b.vals = make([]T, len(b.lines))
	start := 0
	for i, end := range b.ends {
		if b.errs[i] == nil {
			if err := r.decodeAt(b.lines[i], b.data[start:end], &b.vals[i]); err != nil {
				b.errs[i] = err
			}
		}
		start = end
	}
	b.data = nil // the decoded values do not alias it
}

func (r *Reader[T]) nextParallel() (T, error) {
	if r.par == nil {
		r.startPipeline()
	}
	p := r.par
	var zero T
	for {
		if p.cur != nil && p.pos < len(p.cur.lines) {
			i := p.pos
			p.pos++
			r.cur = p.cur.lines[i]
			if err := p.cur.errs[i]; err != nil {
				return zero, err
			}
			v := p.cur.vals[i]
			p.cur.vals[i] = zero // let the record go when the caller does
			return v, nil
		}
		if p.cur != nil && p.cur.tail != nil {
			err := p.cur.tail
			p.stop()
			return zero, err
		}
		b, ok := <-p.order
		if !ok {
			p.stop()
			return zero, io.EOF
		}
		<-b.done
		p.cur, p.pos = b, 0
	}
}

// stop ends the splitter and workers and waits for them. Safe to call more
// than once.
func (p *pipeline[T]) stop() {
	// Every send of the splitter also selects on quit, and workers only
	// range over work, which the splitter closes: all of them exit.
	p.stopOnce.Do(func() { close(p.quit) })
	p.wg.Wait()
}
