package sim

import (
	"container/list"
	"hash/fnv"
)

// kvCache accounts KV-cache blocks and implements automatic prefix caching
// the way vLLM does: a full block of prompt tokens is named by a hash chained
// over every block before it, a block whose sequences all finished stays
// cached until space is needed, and the least recently freed is evicted
// first. It tracks counts, not memory. Not safe for concurrent use: the
// engine's mutex guards it.
type kvCache struct {
	total     int // blocks
	anon      int // blocks in use that hold no full prompt block
	blocks    map[uint64]*cachedBlock
	inUse     int        // hashed blocks with refs > 0
	evictable *list.List // of uint64 hashes with refs == 0, front = most recent
}

type cachedBlock struct {
	refs int
	elem *list.Element // in evictable while refs == 0
}

func newKVCache(tokens int) *kvCache {
	return &kvCache{total: tokens / BlockSize, blocks: make(map[uint64]*cachedBlock), evictable: list.New()}
}

// free is the number of blocks that can be allocated, evicting if need be.
func (c *kvCache) free() int { return c.total - c.anon - c.inUse }

// usage is the fraction of blocks held by running sequences.
func (c *kvCache) usage() float64 {
	if c.total == 0 {
		return 0
	}
	return float64(c.anon+c.inUse) / float64(c.total)
}

// blockHashes names the full blocks of a prompt, each hash chained over the
// blocks before it so that equal hashes mean equal prefixes.
func blockHashes(tokens []string) []uint64 {
	n := len(tokens) / BlockSize
	out := make([]uint64, 0, n)
	var prev uint64
	h := fnv.New64a()
	var buf [8]byte
	for b := 0; b < n; b++ {
		h.Reset()
		for i := range buf {
			buf[i] = byte(prev >> (8 * i))
		}
		h.Write(buf[:])
		for _, tok := range tokens[b*BlockSize : (b+1)*BlockSize] {
			h.Write([]byte(tok))
			h.Write([]byte{0})
		}
		prev = h.Sum64()
		out = append(out, prev)
	}
	return out
}

// cachedPrefix counts the leading blocks of hashes that are cached.
func (c *kvCache) cachedPrefix(hashes []uint64) int {
	n := 0
	for _, h := range hashes {
		if _, ok := c.blocks[h]; !ok {
			break
		}
		n++
	}
	return n
}

// allocate takes n anonymous blocks plus a reference on every block of
// hashes (registering the missing ones). It changes nothing and returns false
// when the blocks do not fit.
func (c *kvCache) allocate(hashes []uint64, n int) bool {
	need := n
	for _, h := range hashes {
		b, ok := c.blocks[h]
		if !ok {
			need++
		} else if b.refs == 0 {
			need++ // reviving an evictable block takes it out of the free pool
		}
	}
	if need > c.free() {
		return false
	}
	for _, h := range hashes {
		b, ok := c.blocks[h]
		if !ok {
			c.makeRoom()
			b = &cachedBlock{}
			c.blocks[h] = b
		}
		if b.refs == 0 {
			if b.elem != nil {
				c.evictable.Remove(b.elem)
				b.elem = nil
			}
			c.inUse++
		}
		b.refs++
	}
	for i := 0; i < n; i++ {
		c.makeRoom()
		c.anon++
	}
	return true
}

// makeRoom evicts the least recently freed cached block when every block is
// either in use or cached, so that one more can be taken.
func (c *kvCache) makeRoom() {
	if c.anon+len(c.blocks) < c.total {
		return
	}
	if back := c.evictable.Back(); back != nil {
		h := c.evictable.Remove(back).(uint64)
		delete(c.blocks, h)
	}
}

// retire frees a finished sequence's blocks like release, but first turns
// the full blocks it generated into cached blocks, named by gen (hashes
// chained on from the prompt's), as vLLM's automatic prefix caching does for
// decoded tokens: a client that cuts the text and sends prompt plus text
// back finds those blocks cached. gen must not hold more blocks than n.
func (c *kvCache) retire(hashes, gen []uint64, n int) {
	c.release(hashes, n)
	for _, h := range gen {
		b, ok := c.blocks[h]
		if !ok {
			// The anonymous block becomes a cached, evictable one: the same
			// memory, now named.
			c.blocks[h] = &cachedBlock{elem: c.evictable.PushFront(h)}
			c.anon--
			continue
		}
		// Another sequence already named this block (the same text
		// generated twice): the anonymous copy is simply freed.
		c.anon--
		if b.refs == 0 && b.elem != nil {
			c.evictable.MoveToFront(b.elem)
		}
	}
}

// release drops the references allocate took.
func (c *kvCache) release(hashes []uint64, n int) {
	for _, h := range hashes {
		b, ok := c.blocks[h]
		if !ok || b.refs == 0 {
			continue
		}
		b.refs--
		if b.refs == 0 {
			c.inUse--
			b.elem = c.evictable.PushFront(h)
		}
	}
	c.anon -= n
}
