package matcher

import (
	"cmp"
	"slices"
	"time"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Not two places at once.
//
// A request with a window is a job at a time: a volunteer who holds
// several (offers or assignments, their commitments) must be able to do
// them one after another, each within its window, each taking its need's
// minutes (NeedRule.Minutes; a request of several needs takes the longest,
// done in one visit). A volunteer whose commitments leave no room for a
// request's job is BUSY for it. A request with only a deadline ("by
// Friday") pins no time, and neither blocks nor is blocked. Travel between
// jobs is not counted; jobs on one street at overlapping times are one
// round, and never clash (two neighbours' shopping, or one person's two
// requests). A call from afar (Remote) is nowhere: it takes its own time,
// beside any visit or other call.

// job is a request's work in time: dur seconds somewhere in [start, end).
type job struct {
	start, end, dur int64 // Unix seconds
}

// commitment is a job a volunteer holds.
type commitment struct {
	request string
	place   string // placeOf its street, or "" if it has none
	job
}

// placeOf names a street within its postcode sector (streetIndexKey),
// or is "" for a request without a street, which shares a round with
// nothing.
func placeOf(street, postcode string) string {
	k := geo.StreetKey(street)
	if k == "" {
		return ""
	}
	return streetIndexKey(k, postcode)
}

// jobPlace is where r's job is done, for rounds: its street (placeOf), or
// "" for a remote request, whose volunteer helps from wherever they are
// and whose job, a call, shares no round with a visit nor with another
// call, however near the callers live.
func jobPlace(r *pb.HelpRequest) string {
	if Remote(r) {
		return ""
	}
	return placeOf(r.GetLocation().GetStreet(), r.GetLocation().GetPostcode())
}

// jobOf is the job of a request with a window from start to end (end >
// start) of needs, no longer than the window.
func (e *Engine) jobOf(start, end time.Time, needs []pb.Need) job {
	j := job{start: start.Unix(), end: end.Unix()}
	j.dur = min(int64(e.jobMinutes(needs))*60, max(j.end-j.start, 0))
	return j
}

// jobMinutes is how long a request of these needs takes: its longest
// need's minutes.
func (e *Engine) jobMinutes(needs []pb.Need) int {
	m := 0
	for _, n := range needs {
		r, ok := e.cfg.Needs[n]
		if !ok || r.Minutes <= 0 {
			r.Minutes = defaultJobMinutes
		}
		m = max(m, r.Minutes)
	}
	if m == 0 {
		m = defaultJobMinutes
	}
	return m
}

// defaultJobMinutes is a job's length when its needs do not say.
const defaultJobMinutes = 60

// busy says whether volunteer id's commitments leave no room for q's job.
// All of them count, as one job can push another into q's time; the one
// for q itself (its holder's, see StillEligible) does not. If they already
// clash among themselves (made before this rule, or by edits since), a
// job meeting any of them is one too many.
func (e *Engine) busy(q *query, id uint32) bool {
	var buf [8]commitment
	return clashes(q.now.Unix(), append(buf[:0], e.extraOf(id).commitments...), commitment{q.name, q.place, q.job})
}

// clashes says whether held leave no room for job j (see busy); the one
// for j's own request does not count. held is changed.
func clashes(now int64, held []commitment, j commitment) bool {
	cs := held[:0]
	meets := false
	for _, c := range held {
		if c.request != j.request {
			cs = append(cs, c)
			meets = meets || c.start < j.end && j.start < c.end
		}
	}
	if len(cs) == 0 {
		return false
	}
	if !fits(rounds(now, cs)) {
		return meets
	}
	return !fits(rounds(now, append(cs, j)))
}

// Clashes is the BUSY rule for volunteer v and request r as stored (a
// record just read with r, in one transaction, which the index may not
// have caught up with): whether the jobs v holds leave no room for r's.
func (e *Engine) Clashes(r *pb.HelpRequest, v *pb.Volunteer, now time.Time) bool {
	w := r.GetWindow()
	if w == nil || len(v.Commitments) == 0 {
		return false
	}
	start := w.GetStartTime().AsTime()
	if start.Before(now) {
		start = now // help can only happen from now on
	}
	j := commitment{r.Name, jobPlace(r), e.jobOf(start, w.GetEndTime().AsTime(), r.Needs)}
	held := make([]commitment, 0, len(v.Commitments))
	for _, c := range v.Commitments {
		held = append(held, commitment{c.HelpRequest, placeOf(c.GetLocation().GetStreet(), c.GetLocation().GetPostcode()),
			e.jobOf(c.GetWindow().GetStartTime().AsTime(), c.GetWindow().GetEndTime().AsTime(), c.Needs)})
	}
	return clashes(now.Unix(), held, j)
}

// rounds turns jobs into the visits they make. Jobs at one place whose
// windows overlap by as long as the longer takes are one round: one visit
// in the overlap; others at one place are visits of their own. A job
// whose window has begun has only what is left of it, as nothing can now
// be done before now; one whose window is over needs no time.
func rounds(now int64, jobs []commitment) []job {
	out := make([]job, 0, len(jobs))
	places := make([]string, 0, len(jobs))
	for _, c := range jobs {
		j := c.job
		if j.end <= now {
			continue
		}
		if j.start < now {
			j.start, j.dur = now, min(j.dur, j.end-now)
		}
		i := -1
		for k, o := range out {
			// The same place, and room for one visit in both windows.
			if c.place != "" && places[k] == c.place && min(o.end, j.end)-max(o.start, j.start) >= max(o.dur, j.dur) {
				i = k
				break
			}
		}
		if i < 0 {
			out, places = append(out, j), append(places, c.place)
			continue
		}
		out[i] = job{max(out[i].start, j.start), min(out[i].end, j.end), max(out[i].dur, j.dur)}
	}
	return out
}

// fits says whether the jobs can be done one after another, each within
// its window. Up to maxExactJobs it tries every order, placing each job as
// early as it can; beyond that, earliest deadline first, which may say no
// to jobs that would fit, never yes to jobs that would not.
func fits(jobs []job) bool {
	ok, _ := fitsTrying(jobs)
	return ok
}

// fitsTrying is fits, and how many orders it tried: up to 720 for six
// jobs that do not fit, for a caller that bounds its work (coverClashed).
func fitsTrying(jobs []job) (ok bool, tried int) {
	if len(jobs) <= 1 {
		return len(jobs) == 0 || jobs[0].dur <= jobs[0].end-jobs[0].start, 1
	}
	slices.SortFunc(jobs, func(a, b job) int {
		return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(a.start, b.start), cmp.Compare(a.dur, b.dur))
	})
	if inOrder(jobs) {
		return true, 1
	}
	if len(jobs) > maxExactJobs {
		return false, 1
	}
	// Every other order (Heap's algorithm); the sorted one failed already.
	tried = 1
	c := make([]int, len(jobs))
	for i := 1; i < len(jobs); {
		if c[i] < i {
			if i%2 == 0 {
				jobs[0], jobs[i] = jobs[i], jobs[0]
			} else {
				jobs[c[i]], jobs[i] = jobs[i], jobs[c[i]]
			}
			tried++
			if inOrder(jobs) {
				return true, tried
			}
			c[i]++
			i = 1
		} else {
			c[i] = 0
			i++
		}
	}
	return false, tried
}

// maxExactJobs bounds the orders fits tries: 6! = 720.
const maxExactJobs = 6

// inOrder says whether the jobs, done in this order, each as early as it
// can start, all finish within their windows.
func inOrder(jobs []job) bool {
	t := int64(-1 << 62)
	for _, j := range jobs {
		t = max(t, j.start) + j.dur
		if t > j.end {
			return false
		}
	}
	return true
}
