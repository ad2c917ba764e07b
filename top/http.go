package top

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
)

// maxBody bounds what top reads from one reply.
const maxBody = 16 << 20

// DefaultTimeout bounds one refresh, scrapes included.
const DefaultTimeout = 5 * time.Second

// dcgm-exporter series top reads from a node's /metrics. The names are
// gpu's (gpu.MetricGPUUtil…); they are repeated here so that top does not
// link the NVML code.
const (
	seriesUtil   = "DCGM_FI_DEV_GPU_UTIL"
	seriesFBUsed = "DCGM_FI_DEV_FB_USED"
	seriesFBFree = "DCGM_FI_DEV_FB_FREE"
	seriesTemp   = "DCGM_FI_DEV_GPU_TEMP"
)

// HTTPSource reads the coordinator API described in the package doc. Safe
// for concurrent use, though the UI calls it from one goroutine.
type HTTPSource struct {
	api *url.URL
	hc  *http.Client
	now func() time.Time

	mu   sync.Mutex
	prev map[string]tokenMark // job id → last tokens seen
}

type tokenMark struct {
	tokens int64
	at     time.Time
}

// NewHTTPSource reads the API at base ("http://coordinator:8080"). hc nil
// uses a client of its own with DefaultTimeout.
func NewHTTPSource(base string, hc *http.Client) (*HTTPSource, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("top: api url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("top: api url %q: want http(s)://host[:port]", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &HTTPSource{api: u, hc: hc, now: time.Now, prev: map[string]tokenMark{}}, nil
}

// Snapshot implements Source. An unreachable API is an error; a failed
// metrics scrape is a warning in the snapshot.
func (s *HTTPSource) Snapshot(ctx context.Context) (Snapshot, error) {
	snap := Snapshot{At: s.now()}
	var jobs []Job
	var workers []Worker
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.getList(gctx, "/v1/jobs", "jobs", &jobs) })
	g.Go(func() error { return s.getList(gctx, "/v1/workers", "workers", &workers) })
	if err := g.Wait(); err != nil {
		return snap, err
	}
	s.rates(jobs, snap.At)
	snap.Jobs, snap.Workers = jobs, workers

	warnings := make([]string, len(workers))
	var sg errgroup.Group
	for i := range workers {
		if workers[i].MetricsURL == "" {
			continue
		}
		sg.Go(func() error {
			gpus, err := s.scrape(ctx, workers[i].MetricsURL, workers[i].GPUs)
			if err != nil {
				warnings[i] = fmt.Sprintf("worker %s: %v", workers[i].ID, err)
				return nil
			}
			workers[i].GPUs = gpus
			return nil
		})
	}
	_ = sg.Wait()
	for _, w := range warnings {
		if w != "" {
			snap.Warnings = append(snap.Warnings, w)
		}
	}
	return snap, nil
}

// rates fills TokensPerSec from the change in Tokens since the last
// snapshot, where the API did not.
func (s *HTTPSource) rates(jobs []Job, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]tokenMark, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if p, ok := s.prev[j.ID]; ok && j.TokensPerSec == 0 && j.Tokens >= p.tokens {
			if dt := now.Sub(p.at).Seconds(); dt > 0 {
				j.TokensPerSec = float64(j.Tokens-p.tokens) / dt
			}
		}
		next[j.ID] = tokenMark{j.Tokens, now}
	}
	s.prev = next
}

// getList GETs path and decodes a JSON list, bare or under key.
func (s *HTTPSource) getList(ctx context.Context, path, key string, dst any) error {
	body, err := s.get(ctx, s.api.JoinPath(path).String())
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var wrapped map[string]json.RawMessage
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return fmt.Errorf("top: GET %s: decode: %w", path, err)
		}
		body = wrapped[key]
		if body == nil {
			return fmt.Errorf("top: GET %s: object without %q", path, key)
		}
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("top: GET %s: decode: %w", path, err)
	}
	return nil
}

func (s *HTTPSource) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("top: GET %s: %w", u, err)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("top: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("top: GET %s: read: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("top: GET %s: %s: %s", u, resp.Status, bytes.TrimSpace(body[:min(len(body), 200)]))
	}
	return body, nil
}

// scrape reads the dcgm series at u and merges them into gpus by index.
func (s *HTTPSource) scrape(ctx context.Context, u string, gpus []GPU) ([]GPU, error) {
	body, err := s.get(ctx, u)
	if err != nil {
		return nil, err
	}
	return mergeDCGM(body, gpus)
}

// mergeDCGM overlays the dcgm-named series in body on gpus, adding devices
// the worker did not list. FB_USED + FB_FREE is the total, as dcgm-exporter
// has no total series.
func mergeDCGM(body []byte, gpus []GPU) ([]GPU, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	out := append([]GPU(nil), gpus...)
	find := func(idx int) *GPU {
		for i := range out {
			if out[i].Index == idx {
				return &out[i]
			}
		}
		out = append(out, GPU{Index: idx})
		return &out[len(out)-1]
	}
	free := map[int]float64{}
	for _, name := range []string{seriesUtil, seriesFBUsed, seriesFBFree, seriesTemp} {
		mf := fams[name]
		if mf == nil {
			continue
		}
		for _, m := range mf.GetMetric() {
			idx, name2 := -1, ""
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "gpu":
					if n, err := strconv.Atoi(lp.GetValue()); err == nil {
						idx = n
					}
				case "modelName":
					name2 = lp.GetValue()
				}
			}
			if idx < 0 || m.GetGauge() == nil {
				continue
			}
			v := m.GetGauge().GetValue()
			g := find(idx)
			if name2 != "" {
				g.Name = name2
			}
			switch name {
			case seriesUtil:
				g.UtilPercent = v
			case seriesFBUsed:
				g.MemUsedMiB = v
			case seriesFBFree:
				free[idx] = v
			case seriesTemp:
				g.TempC = v
			}
		}
	}
	for idx, f := range free {
		g := find(idx)
		g.MemTotalMiB = g.MemUsedMiB + f
	}
	return out, nil
}
