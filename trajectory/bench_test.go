package trajectory

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// benchFileBytes is the size of the generated trajectory file: big enough
// that the read dominates setup, small enough for `make bench`.
const benchFileBytes = 50 << 20

// writeBenchFile fills path with realistic Trajectory lines (steps, hints,
// tool output, escapes) until it holds about size bytes; it returns the
// record count.
func writeBenchFile(tb testing.TB, path string, size int64) int {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(bw)
	yes := true
	exit := 0
	gen := strings.Repeat("Let me compute \\frac{a}{b} step by step. Wait, \"check\" <again>.\n", 40)
	n := 0
	var written int64
	for written < size {
		text := gen + "Wait, maybe using Python here is a good idea.\n```python\nprint(1+1)\n```\n```output\n2\n```\n" + gen[:n%len(gen)]
		tr := Trajectory{
			TaskID: fmt.Sprintf("job1/p%06d/s0", n), JobID: "job1", ProblemID: fmt.Sprintf("p%06d", n),
			Dataset: "math500", Prompt: "<|im_start|>user\nSolve.<|im_end|>\n", Text: text,
			Steps: []Step{
				{Kind: StepGen, Text: gen, Offset: 0},
				{Kind: StepHint, Text: "Wait, maybe using Python here is a good idea.\n", Offset: len(gen), Trigger: "Wait"},
				{Kind: StepCode, Text: "```python\nprint(1+1)\n```\n", Lang: "python"},
				{Kind: StepOutput, Text: "```output\n2\n```\n", ExitCode: &exit, ToolMS: 1.5},
			},
			ToolCalls: 1, Hints: 1, Answer: "4", Reference: "4", Correct: &yes, FinishReason: FinishStop,
			Tokens: Tokens{Prompt: 120, Completion: 900, Wasted: 12}, Requests: 2,
			Engine: EngineRef{URL: "http://10.0.0.1:8000/v1", Model: "QwQ-32B"}, Worker: "node-3", Attempt: 1,
			Timings: Timings{Start: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), TotalMS: 5123.5, EngineMS: 5000, ToolMS: 1.5},
		}
		if err := enc.Encode(&tr); err != nil {
			tb.Fatal(err)
		}
		written = int64(bw.Buffered()) + written
		if err := bw.Flush(); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// readWithReader reads the file with our Reader, decoding on GOMAXPROCS
// workers, and returns the records seen.
func readWithReader(tb testing.TB, path string) int {
	return readWith(tb, path, WithDecodeWorkers(runtime.GOMAXPROCS(0)))
}

// readWithReaderSeq reads the file with our Reader on one goroutine.
func readWithReaderSeq(tb testing.TB, path string) int { return readWith(tb, path) }

func readWith(tb testing.TB, path string, opts ...ReaderOption) int {
	r, err := OpenReader[Trajectory](path, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// readWithDecoder reads the file with encoding/json.Decoder, the baseline.
func readWithDecoder(tb testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	n := 0
	for {
		var tr Trajectory
		err := dec.Decode(&tr)
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// mbps times one full read of the file.
func mbps(tb testing.TB, path string, size int64, want int, read func(testing.TB, string) int) float64 {
	start := time.Now()
	if got := read(tb, path); got != want {
		tb.Fatalf("read %d records, want %d", got, want)
	}
	return float64(size) / (1 << 20) / time.Since(start).Seconds()
}

// BenchmarkJSONLRead compares our Reader with encoding/json.Decoder on the
// same ~50 MB trajectory file: best of 3 each, the three readers taking turns
// so that drift in machine load hits them alike. It runs this fixed workload
// whatever b.N is (make bench uses -benchtime 1x) and prints BENCH lines:
// the headline ratio is the default, single-goroutine Reader; the parallel
// one (WithDecodeWorkers(GOMAXPROCS)) depends on idle cores, so it is a
// figure of its own.
func BenchmarkJSONLRead(b *testing.B) {
	b.ReportAllocs()
	path := filepath.Join(b.TempDir(), "bench.jsonl")
	n := writeBenchFile(b, path, benchFileBytes)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	size := st.Size()
	b.ResetTimer()
	var seq, par, base float64
	for range b.N {
		for range 3 {
			base = max(base, mbps(b, path, size, n, readWithDecoder))
			seq = max(seq, mbps(b, path, size, n, readWithReaderSeq))
			par = max(par, mbps(b, path, size, n, readWithReader))
		}
	}
	b.StopTimer()
	b.ReportMetric(seq, "MB/s")
	fmt.Printf("BENCH jsonl_read_vs_decoder_x %.2f x\n", seq/base)
	fmt.Printf("BENCH jsonl_read_mb_s %.1f MB/s\n", seq)
	fmt.Printf("BENCH jsonl_read_parallel_vs_decoder_x %.2f x\n", par/base)
}
