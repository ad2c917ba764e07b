package scheduler

// JobShare is one job's standing for FairShare.
type JobShare struct {
	ID string
	// Priority classes are strict: a job is picked only when no job of a
	// higher priority is eligible.
	Priority int
	// Weight is the job's share within its class; zero means 1.
	Weight   float64
	Backlog  int // tasks not yet dispatched
	InFlight int // tasks dispatched and not finished
	// MaxInFlight caps the job's dispatched tasks; zero means no cap.
	MaxInFlight int
}

func (j JobShare) eligible() bool {
	return j.Backlog > 0 && (j.MaxInFlight == 0 || j.InFlight < j.MaxInFlight)
}

func (j JobShare) stride() float64 {
	if j.Weight <= 0 {
		return 1
	}
	return 1 / j.Weight
}

// FairShare decides which job's task to dispatch next: strict priority
// between classes, stride scheduling by weight within one. Each job has a
// pass; the eligible job with the lowest pass goes next and its pass grows by
// 1/weight, so over any long run the jobs of a class get dispatches in
// proportion to their weights. A job that was idle (no backlog) re-enters at
// the current virtual time, so idling banks no credit to burst with later.
//
// FairShare is not safe for concurrent use: one dispatch loop owns it.
type FairShare struct {
	pass  map[string]float64
	vtime map[int]float64 // per priority class
}

// NewFairShare returns an empty FairShare.
func NewFairShare() *FairShare {
	return &FairShare{pass: map[string]float64{}, vtime: map[int]float64{}}
}

// Next returns the job to dispatch from next, or false when no job is
// eligible (no backlog, or every job at its MaxInFlight). Ties go to the
// lower ID so decisions are deterministic.
func (f *FairShare) Next(jobs []JobShare) (string, bool) {
	best := -1
	for i, j := range jobs {
		if !j.eligible() {
			continue
		}
		if best >= 0 && j.Priority < jobs[best].Priority {
			continue
		}
		if best < 0 || j.Priority > jobs[best].Priority {
			best = i
			continue
		}
		pi, pb := f.passOf(j), f.passOf(jobs[best])
		if pi < pb || pi == pb && j.ID < jobs[best].ID {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	j := jobs[best]
	p := f.passOf(j)
	f.vtime[j.Priority] = p
	f.pass[j.ID] = p + j.stride()
	return j.ID, true
}

// passOf is the job's pass, lifted to its class's virtual time if it fell
// behind while idle or is new.
func (f *FairShare) passOf(j JobShare) float64 {
	return max(f.pass[j.ID], f.vtime[j.Priority])
}

// Forget drops a finished job's state.
func (f *FairShare) Forget(jobID string) { delete(f.pass, jobID) }
