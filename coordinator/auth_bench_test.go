package coordinator_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
)

// BenchmarkAPIAuth prints BENCH api_auth_overhead_us: the p50 a request
// gains from authentication (a bearer token checked against one token per
// role), against the same route on a replica without auth, in the same
// run, over real loopback HTTP. Requests alternate between the two so
// machine noise hits both alike; the figure is the median of the paired
// differences. The route is GET /v1/jobs/{id} of a job
// the replica does not have: one etcd read, the same on both sides.
func BenchmarkAPIAuth(b *testing.B) {
	env := clustertest.Start(b)
	toks := map[coordinator.Role]string{}
	open := startSecured(b, env, coordinator.Config{}).url
	authed := startSecured(b, env, coordinator.Config{}, coordinator.WithAuth(tokenAuth(toks))).url
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url, auth string) time.Duration {
		req, _ := http.NewRequest("GET", url+"/v1/jobs/nope", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusNotFound {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return d
	}
	const n = 3000
	var with, without, diff []time.Duration
	bearer := "Bearer " + toks[coordinator.RoleRead]
	for i := range n + 200 {
		a, o := get(authed, bearer), get(open, "")
		if i >= 200 { // warm-up
			with, without, diff = append(with, a), append(without, o), append(diff, a-o)
		}
	}
	p50 := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	// The median of paired differences: drift on the machine cancels out.
	po := p50(without)
	fmt.Printf("BENCH api_auth_overhead_us %.1f us\n", float64(p50(diff).Nanoseconds())/1e3)
	fmt.Printf("BENCH api_request_p50_auth_us %.1f us\n", float64(p50(with).Nanoseconds())/1e3)
	fmt.Printf("BENCH api_request_p50_noauth_us %.1f us\n", float64(po.Nanoseconds())/1e3)
}
