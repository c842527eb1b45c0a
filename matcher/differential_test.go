package matcher

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// This file compares FindCandidates, page and counts of why, and
// Eligible, with a plain reference that reads nothing of the engine: each
// volunteer as stored (*pb.Volunteer) judged by the documented rules one
// by one, the window walked a quarter of an hour at a time on the
// volunteer's own clock, and the page ranked by a full sort. The engine's
// shortcuts (tags, block aggregates and tallies, squares and regions of
// blocks, cells' evening bits, give-up sweeps, held-back points, ties at
// the page's edge, lazy grid updates, Compact) must not show.

// diffQuarter is the step the reference walks a window in: slots here
// start and end on quarter hours and every zone used is a whole number of
// quarter hours from UTC, so within a quarter hour (after the window's
// own start) nothing the rules read changes.
const diffQuarter = 15 * time.Minute

// diffWhy is the first rule v fails for r, and its detail (the skill
// lacked), or "" if v can help. metres is v's distance, which a remote
// request (remote) does not hold against them.
func diffWhy(v *pb.Volunteer, r *pb.HelpRequest, metres float64, remote bool, now time.Time, cfg Config) (Reason, string) {
	minVet, skills := diffRules(r, cfg)
	if !remote && metres > float64(v.MaxDistanceMetres) {
		return TooFar, ""
	}
	if v.Paused {
		return Paused, ""
	}
	if slices.Contains(r.DeclinedVolunteers, v.Name) {
		return DeclinedBefore, ""
	}
	if v.ActiveAssignments+v.PendingOffers >= v.Capacity {
		return AtCapacity, ""
	}
	for _, s := range skills {
		if !slices.Contains(v.Skills, s) {
			return MissingSkill, s
		}
	}
	start, end := diffWindow(r, now)
	loc := diffZone(v.Availability.TimeZone)
	day := func(t time.Time) int32 { return civilDay(t.In(loc).Date()) }
	date := func(d *pb.Date) int32 { return civilDay(int(d.Year), time.Month(d.Month), int(d.Day)) }
	until := int32(math.MaxInt32)
	if minVet > pb.Vetting_DBS_LEVEL_NONE {
		lvl := v.Vetting.GetLevel()
		if d := v.Vetting.GetExpireDate(); d != nil {
			until = date(d)
			if day(start) > until {
				lvl = pb.Vetting_DBS_LEVEL_NONE
			}
		}
		if lvl < minVet {
			return Vetting, ""
		}
	}
	free, freeVetted, missed, allAway := false, false, false, true
	for t := start; t.Before(end); t = t.Truncate(diffQuarter).Add(diffQuarter) {
		lt := t.In(loc)
		d := civilDay(lt.Date())
		gone := slices.ContainsFunc(v.Availability.Away, func(a *pb.DateRange) bool { return d >= date(a.StartDate) && d <= date(a.EndDate) })
		allAway = allAway && gone
		m := int32(lt.Hour()*60 + lt.Minute())
		in := slices.ContainsFunc(v.Availability.Weekly, func(s *pb.AvailabilitySlot) bool {
			return time.Weekday(s.Day%7) == lt.Weekday() && m >= s.StartTime.Hours*60+s.StartTime.Minutes && m < s.EndTime.Hours*60+s.EndTime.Minutes
		})
		switch {
		case !in:
		case gone:
			missed = true
		default:
			free = true
			freeVetted = freeVetted || d <= until
		}
	}
	switch {
	case free && !freeVetted:
		return Vetting, ""
	case free:
		return "", ""
	case missed || allAway:
		return Away, ""
	}
	return NotAvailable, ""
}

var diffZones sync.Map // name -> *time.Location

// diffZone is the named zone: time.LoadLocation reads its file each
// time, and was most of the reference's cost.
func diffZone(name string) *time.Location {
	if loc, ok := diffZones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	diffZones.Store(name, loc)
	return loc
}

// diffWindow is when help can happen: the window, or now to the
// deadline, from now on.
func diffWindow(r *pb.HelpRequest, now time.Time) (start, end time.Time) {
	if w := r.GetWindow(); w != nil {
		start, end = w.StartTime.AsTime(), w.EndTime.AsTime()
	} else {
		start, end = now, r.GetDeadline().AsTime()
	}
	if start.Before(now) {
		start = now
	}
	return start, end
}

// diffRules are the DBS level and the skills r's needs demand, the
// skills in the request's order.
func diffRules(r *pb.HelpRequest, cfg Config) (pb.Vetting_DbsLevel, []string) {
	minVet := pb.Vetting_DBS_LEVEL_NONE
	var skills []string
	add := func(s string) {
		if !slices.Contains(skills, s) {
			skills = append(skills, s)
		}
	}
	for _, n := range r.Needs {
		rule := cfg.Needs[n]
		minVet = max(minVet, rule.MinVetting)
		for _, s := range rule.Skills {
			add(s)
		}
	}
	if r.EntersHome {
		minVet = max(minVet, cfg.EntersHomeVetting)
	}
	for _, s := range r.RequiredSkills {
		add(s)
	}
	return minVet, skills
}

// diffReach is r's reach: the nearest of its needs' limits, +Inf for a
// remote request.
func diffReach(r *pb.HelpRequest, cfg Config) float64 {
	reach := math.Inf(1)
	if Remote(r) {
		return reach
	}
	for _, n := range r.Needs {
		reach = math.Min(reach, cfg.Needs[n].MaxMetres)
	}
	return reach
}

// diffMetres is how far v lives from r, between the points as the grid
// keeps them (to its fixed precision), which is the distance the rules
// and the sentences use.
func diffMetres(v *pb.Volunteer, r *pb.HelpRequest) float64 {
	a, b := r.Location.LatLng, v.Home.LatLng
	return ApproxMetres(gridStored(a.Latitude), gridStored(a.Longitude), gridStored(b.Latitude), gridStored(b.Longitude))
}

type diffCand struct {
	name          string
	score, metres float64
}

// diffFind is FindCandidates by the package doc, over vs as stored: the
// best k eligible in reach by score, then distance, then name; for a
// remote request, drawn from the nearest eligible (remotePool, or k if
// more, widened while the next lies as near as the last) and those with
// a bonus. When fewer than k, the counts of why of everyone in reach
// (50 km for a remote request), by reason and detail.
func diffFind(vs []*pb.Volunteer, r *pb.HelpRequest, prev []string, k int, now time.Time, cfg Config) ([]diffCand, map[string]int) {
	remote := Remote(r)
	reach := diffReach(r, cfg)
	count := reach
	if remote {
		count = 50000
	}
	var all []diffCand
	bonus := map[string]bool{}
	why := map[string]int{}
	sector := func(pc string) string {
		if i := strings.IndexByte(pc, ' '); i >= 0 && i+2 <= len(pc) {
			return pc[:i+2]
		}
		return pc
	}
	since := now.Add(-cfg.FairnessWindow)
	for _, v := range vs {
		m := diffMetres(v, r)
		if m > reach {
			continue
		}
		if reason, det := diffWhy(v, r, m, remote, now, cfg); reason != "" {
			if m <= count {
				why[string(reason)+"/"+det]++
			}
			continue
		}
		c := diffCand{name: v.Name, metres: m}
		// The parts summed in the order the engine sums them, so that
		// the scores agree to the last bit.
		var dist, st, pc, fair, cont float64
		if !remote {
			dist = m
		}
		street := geo.StreetKey(r.Location.Street)
		sameStreet := street != "" && street == geo.StreetKey(v.Home.Street) && sector(r.Location.Postcode) == sector(v.Home.Postcode)
		samePostcode := r.Location.Postcode != "" && r.Location.Postcode == v.Home.Postcode
		if sameStreet {
			st = -cfg.SameStreetMetres
		}
		if samePostcode {
			pc = -cfg.SamePostcodeMetres
		}
		if slices.Contains(prev, v.Name) {
			cont = -cfg.ContinuityMetres
			bonus[v.Name] = true
		}
		n := 0
		for _, t := range v.RecentAssignmentTimes {
			if t.AsTime().After(since) && !t.AsTime().After(now) {
				n++
			}
		}
		fair = float64(n) * cfg.FairnessMetres
		c.score = dist + st + pc + fair + cont
		if sameStreet || samePostcode {
			bonus[v.Name] = true
		}
		all = append(all, c)
	}
	if remote {
		slices.SortFunc(all, func(a, b diffCand) int { return cmp.Compare(a.metres, b.metres) })
		w := max(k, remotePool)
		for w < len(all) && all[w].metres == all[w-1].metres {
			w *= 2
		}
		var pool []diffCand
		for i, c := range all {
			if i < w || bonus[c.name] {
				pool = append(pool, c)
			}
		}
		all = pool
	}
	slices.SortFunc(all, func(a, b diffCand) int {
		return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.metres, b.metres), strings.Compare(a.name, b.name))
	})
	if len(all) >= k {
		return all[:k], nil
	}
	return all, why
}

// diffScenario shapes the volunteers and requests of one run.
type diffScenario struct {
	name string
	// bases are the days windows and away dates gather round.
	bases []time.Time
	// zones the volunteers keep their hours in, with repeats for weight.
	zones []string
	n     int // volunteers
	// spread is how far from the request volunteers live, in metres;
	// crowd the share of them living at one of a few points.
	spread float64
	crowd  float64
	// edges places some just inside and outside the limits that matter:
	// their own, the need's, 50 km.
	edges bool
	// remote is the share of requests that are remote_ok befriending.
	remote float64
	// night puts windows in the small hours, when few are free.
	night bool
	pages []int
	// budget, unless 0, sets searchBudget: -1 never gives up (0), 1
	// gives up at once.
	budget int
	// skills draws skills from eighty, so that some are interned past
	// the tag's bits and past the packed record's 64.
	skills bool
	// plain gives no check an expiry date, so that blocks, squares and
	// regions (patch.go) hold nobody whose verdict needs the record
	// but those in other zones or away with dates the grid does not know.
	plain bool
	// evening starts windows from 16:00 to 22:00 UTC, when the cells'
	// evening bits (gridBlock.late) pass cells over.
	evening bool
	// at, if set, is where requests are (Aberdeen otherwise).
	at *pb.LatLng
	// far gives most volunteers limits of 1.5 km or more, at the classes'
	// bounds and between, so that whole blocks pass every own limit of
	// a request with a reach (exclusionSweep.limitsPass).
	far bool
	// days keeps most volunteers' slots within 07:00..17:00, so that at
	// night whole blocks hold nobody free (exclusionSweep.hopelessHours).
	days bool
}

var diffUK = []string{"Europe/London"}

var diffAbroad = []string{"Europe/London", "Europe/London", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "Pacific/Chatham", "Europe/Madrid", "Etc/GMT+5", "Asia/Kathmandu"}

// The clocks change in the UK on the last Sundays of March and October
// (01:00 UTC both).
var (
	diffSpring = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	diffAutumn = time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)
	diffWinter = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

var diffScenarios = []diffScenario{
	{name: "spring clocks, UK", bases: []time.Time{diffSpring}, zones: diffUK, n: 120, spread: 2500, pages: []int{1, 2, 20, 50}},
	{name: "autumn clocks, UK", bases: []time.Time{diffAutumn}, zones: diffUK, n: 120, spread: 2500, pages: []int{1, 2, 20, 50}},
	{name: "clocks, befrienders abroad", bases: []time.Time{diffSpring, diffAutumn, diffWinter}, zones: diffAbroad, n: 150, spread: 3000, remote: 0.4, pages: []int{1, 2, 20, 50}},
	{name: "remote by day", bases: []time.Time{diffWinter, diffAutumn}, zones: diffAbroad, n: 220, spread: 70000, edges: true, remote: 1, pages: []int{1, 2, 20, 50, 60}},
	{name: "remote at night", bases: []time.Time{diffWinter, diffSpring}, zones: diffAbroad, n: 220, spread: 70000, edges: true, remote: 1, night: true, pages: []int{1, 2, 20, 50}},
	{name: "crowds at a point", bases: []time.Time{diffWinter, diffAutumn}, zones: diffAbroad, n: 300, spread: 2000, crowd: 0.7, remote: 0.3, pages: []int{1, 2, 20, 50}},
	{name: "limits' edges", bases: []time.Time{diffWinter, diffSpring}, zones: diffAbroad, n: 160, spread: 9000, edges: true, remote: 0.2, pages: []int{1, 2, 20, 50}},
	{name: "crowds, never give up", bases: []time.Time{diffAutumn}, zones: diffAbroad, n: 300, spread: 2000, crowd: 0.7, remote: 0.3, pages: []int{1, 20, 50}, budget: -1},
	{name: "crowds, give up at once", bases: []time.Time{diffSpring}, zones: diffAbroad, n: 300, spread: 2000, crowd: 0.7, remote: 0.3, pages: []int{1, 20, 50}, budget: 1},
	{name: "remote crowds, ties at the pool's edge", bases: []time.Time{diffWinter, diffAutumn}, zones: diffAbroad, n: 400, spread: 3000, crowd: 0.85, remote: 1, pages: []int{1, 2, 20, 50, 60}},
	{name: "remote crowds at night", bases: []time.Time{diffSpring, diffAutumn}, zones: diffAbroad, n: 400, spread: 60000, crowd: 0.6, remote: 1, night: true, pages: []int{1, 2, 20, 50}},
	{name: "eighty skills", bases: []time.Time{diffWinter, diffSpring}, zones: diffAbroad, n: 200, spread: 3000, crowd: 0.3, remote: 0.3, pages: []int{1, 2, 20, 50}, skills: true},
	{name: "remote at night, UK, plain checks", bases: []time.Time{diffWinter, diffSpring}, zones: diffUK, n: 700, spread: 65000, edges: true, remote: 1, night: true, pages: []int{1, 20, 50}, plain: true},
	{name: "remote at night, Shetland", bases: []time.Time{diffWinter, diffAutumn}, zones: diffUK, n: 500, spread: 70000, edges: true, remote: 1, night: true, pages: []int{1, 20, 50}, plain: true, at: &pb.LatLng{Latitude: 60.155, Longitude: -1.145}},
	{name: "remote at night, Scilly", bases: []time.Time{diffWinter, diffSpring}, zones: diffUK, n: 500, spread: 70000, edges: true, remote: 1, night: true, pages: []int{1, 20, 50}, plain: true, at: &pb.LatLng{Latitude: 49.915, Longitude: -6.315}},
	{name: "in person at night, plain checks", bases: []time.Time{diffAutumn, diffWinter}, zones: diffUK, n: 600, spread: 5000, edges: true, night: true, pages: []int{1, 2, 20, 50}, budget: 1, plain: true, far: true, days: true},
	{name: "evenings", bases: []time.Time{diffAutumn, diffSpring, diffWinter}, zones: diffAbroad, n: 300, spread: 20000, edges: true, remote: 0.5, evening: true, pages: []int{1, 2, 20, 50}},
	{name: "evenings, UK", bases: []time.Time{diffAutumn, diffSpring, diffWinter}, zones: diffUK, n: 300, spread: 20000, remote: 0.5, evening: true, pages: []int{1, 5, 50}, plain: true},
	{name: "night, sweeps", bases: []time.Time{diffAutumn, diffSpring}, zones: diffAbroad, n: 200, spread: 4000, night: true, remote: 0.5, pages: []int{1, 2, 20, 50}, budget: 1},
}

// diffWorld generates one scenario's volunteers and requests.
type diffWorld struct {
	sc     diffScenario
	rng    *rand.Rand
	req    *pb.LatLng // where requests are
	crowds []*pb.LatLng
	next   int
}

var diffPostcodes = []string{"AB10 1AB", "AB10 1AF", "AB11 5QN", ""}
var diffStreets = []string{"Union Street", "Correction Wynd", "union st", ""}

func (w *diffWorld) date(t time.Time) *pb.Date {
	return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

func (w *diffWorld) base() time.Time { return w.sc.bases[w.rng.IntN(len(w.sc.bases))] }

// at is a point metres from the request's place on a random bearing,
// found so that the distance the engine measures is within a centimetre.
func (w *diffWorld) at(metres float64) *pb.LatLng {
	bearing := w.rng.Float64() * 2 * math.Pi
	dn, de := math.Cos(bearing), math.Sin(bearing)
	lo, hi := 0.0, 2*metres/111320+1e-9
	ll := &pb.LatLng{}
	for range 80 {
		mid := (lo + hi) / 2
		ll.Latitude, ll.Longitude = w.req.Latitude+dn*mid, w.req.Longitude+de*mid/0.5433
		d := ApproxMetres(gridStored(w.req.Latitude), gridStored(w.req.Longitude), gridStored(ll.Latitude), gridStored(ll.Longitude))
		if d < metres {
			lo = mid
		} else {
			hi = mid
		}
	}
	return ll
}

func (w *diffWorld) place() *pb.LatLng {
	rng := w.rng
	switch {
	case w.sc.crowd > 0 && rng.Float64() < w.sc.crowd:
		c := w.crowds[rng.IntN(len(w.crowds))]
		return &pb.LatLng{Latitude: c.Latitude, Longitude: c.Longitude}
	case w.sc.edges && rng.IntN(3) == 0:
		edge := []float64{500, 1000, 1500, 3000, 5000, 8000, 50000}[rng.IntN(7)]
		return w.at(edge + []float64{-0.5, -0.005, 0, 0.005, 0.5}[rng.IntN(5)])
	case w.sc.remote > 0 && rng.IntN(40) == 0:
		return &pb.LatLng{Latitude: 40.4168 + rng.Float64(), Longitude: -3.7038 + rng.Float64()} // Madrid
	}
	return w.at(rng.Float64() * w.sc.spread)
}

func (w *diffWorld) slots() []*pb.AvailabilitySlot {
	rng := w.rng
	var out []*pb.AvailabilitySlot
	if w.sc.days && rng.IntN(10) != 0 {
		for n := rng.IntN(4); n > 0; n-- {
			from := 7*60 + int32(rng.IntN(8*4))*15
			to := from + 15 + int32(rng.IntN(8))*15
			out = append(out, &pb.AvailabilitySlot{Day: pb.DayOfWeek(1 + rng.IntN(7)), StartTime: &pb.TimeOfDay{Hours: from / 60, Minutes: from % 60}, EndTime: &pb.TimeOfDay{Hours: to / 60, Minutes: to % 60}})
		}
		return out
	}
	if rng.IntN(4) == 0 {
		// Every day, as many give: some all day, some evenings into
		// midnight, some mornings.
		from, to := []int32{0, 8, 18, 6}[rng.IntN(4)], []int32{24, 20, 24, 12}[rng.IntN(4)]
		if from >= to {
			from, to = 0, 24
		}
		for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
			out = append(out, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{Hours: from}, EndTime: &pb.TimeOfDay{Hours: to}})
		}
		return out
	}
	for n := rng.IntN(5); n > 0; n-- {
		from := int32(rng.IntN(24*4)) * 15
		to := min(1440, from+15+int32(rng.IntN(10*4))*15)
		end := &pb.TimeOfDay{Hours: to / 60, Minutes: to % 60}
		out = append(out, &pb.AvailabilitySlot{Day: pb.DayOfWeek(1 + rng.IntN(7)), StartTime: &pb.TimeOfDay{Hours: from / 60, Minutes: from % 60}, EndTime: end})
	}
	return out
}

func (w *diffWorld) away() []*pb.DateRange {
	rng := w.rng
	var out []*pb.DateRange
	for n := []int{0, 0, 0, 1, 1, 2}[rng.IntN(6)]; n > 0; n-- {
		d := w.base().AddDate(0, 0, rng.IntN(7)-3)
		out = append(out, &pb.DateRange{StartDate: w.date(d), EndDate: w.date(d.AddDate(0, 0, rng.IntN(3)))})
	}
	return out
}

func (w *diffWorld) vetting() *pb.Vetting {
	rng := w.rng
	v := &pb.Vetting{Level: pb.Vetting_DbsLevel(rng.IntN(4))}
	if rng.IntN(2) == 0 && !w.sc.plain {
		v.ExpireDate = w.date(w.base().AddDate(0, 0, rng.IntN(5)-2))
	}
	return v
}

func (w *diffWorld) volunteer() *pb.Volunteer {
	rng := w.rng
	w.next++
	v := &pb.Volunteer{
		Name:    fmt.Sprintf("volunteers/d%03d", w.next),
		Contact: &pb.Contact{DisplayName: fmt.Sprintf("D%03d", w.next)},
		Home:    &pb.Location{Postcode: diffPostcodes[rng.IntN(len(diffPostcodes))], Street: diffStreets[rng.IntN(len(diffStreets))], LatLng: w.place()},
	}
	w.edit(v, -1)
	return v
}

// diffFields is how many single fields edit can change.
const diffFields = 12

// edit changes field f of v (all of them for -1).
func (w *diffWorld) edit(v *pb.Volunteer, f int) {
	rng := w.rng
	all := f < 0
	if v.Availability == nil {
		v.Availability = &pb.Availability{}
	}
	if all || f == 0 {
		v.Home.LatLng = w.place()
	}
	if all || f == 1 {
		v.MaxDistanceMetres = []int32{0, 500, 999, 1000, 1500, 1501, 2000, 3000, 5000, 8000, 15000, 60000}[rng.IntN(12)]
		if w.sc.far && rng.IntN(100) != 0 {
			v.MaxDistanceMetres = []int32{1500, 1501, 2000, 2999, 3000, 5000, 8000, 15000}[rng.IntN(8)]
		}
	}
	if all || f == 2 {
		v.Paused = rng.IntN(8) == 0
	}
	if all || f == 3 {
		v.Capacity = int32(rng.IntN(3))
		v.ActiveAssignments = int32(rng.IntN(2))
		v.PendingOffers = int32(rng.IntN(2))
		if rng.IntN(2) == 0 {
			v.Capacity = 3
		}
	}
	if all || f == 4 {
		v.Skills = nil
		if w.sc.skills {
			for n := rng.IntN(8); n > 0; n-- {
				v.Skills = append(v.Skills, fmt.Sprintf("s%02d", rng.IntN(80)))
			}
		}
		for _, s := range []string{"driver", "welsh", "bsl"} {
			if rng.IntN(3) == 0 {
				v.Skills = append(v.Skills, s)
			}
		}
	}
	if all || f == 5 {
		v.Vetting = w.vetting()
	}
	if all || f == 6 {
		v.Availability.TimeZone = w.sc.zones[rng.IntN(len(w.sc.zones))]
	}
	if all || f == 7 {
		v.Availability.Weekly = w.slots()
	}
	if all || f == 8 {
		v.Availability.Away = w.away()
	}
	if all || f == 9 {
		v.RecentAssignmentTimes = nil
		for n := rng.IntN(3); n > 0; n-- {
			v.RecentAssignmentTimes = append(v.RecentAssignmentTimes, timestamppb.New(w.base().Add(-time.Duration(rng.IntN(10*24))*time.Hour)))
		}
	}
	if all || f == 10 {
		v.Home.Postcode = diffPostcodes[rng.IntN(len(diffPostcodes))]
	}
	if all || f == 11 {
		v.Home.Street = diffStreets[rng.IntN(len(diffStreets))]
	}
}

// request is a request and the moment it is asked at.
func (w *diffWorld) request(names []string) (*pb.HelpRequest, []string, time.Time) {
	rng := w.rng
	base := w.base()
	start := base.Add(time.Duration(rng.IntN(36*60)-18*60) * time.Minute)
	if w.sc.night {
		// 23:00 to 05:00 in London on a day round the base.
		day := time.Date(base.Year(), base.Month(), base.Day()+rng.IntN(3)-1, 23, 0, 0, 0, time.UTC)
		start = day.Add(time.Duration(rng.IntN(6*60)) * time.Minute)
	}
	if w.sc.evening {
		day := time.Date(base.Year(), base.Month(), base.Day()+rng.IntN(3)-1, 16, 0, 0, 0, time.UTC)
		start = day.Add(time.Duration(rng.IntN(6*4)*15) * time.Minute)
	}
	dur := time.Duration(5+rng.IntN(4*60)) * time.Minute
	switch rng.IntN(5) {
	case 0:
		dur = time.Duration(6*60+rng.IntN(3*24*60)) * time.Minute // days
	case 1:
		dur = time.Duration(60+rng.IntN(12*60)) * time.Minute // over midnight, often
	}
	now := start.Add(-time.Duration(rng.IntN(600)-60) * time.Minute)
	if !now.Before(start.Add(dur)) {
		now = start.Add(dur - time.Minute)
	}
	r := &pb.HelpRequest{
		Name:     "helpRequests/d1",
		Urgency:  pb.Urgency_URGENCY_NORMAL,
		Location: &pb.Location{Postcode: diffPostcodes[rng.IntN(len(diffPostcodes))], Street: diffStreets[rng.IntN(len(diffStreets))], LatLng: &pb.LatLng{Latitude: w.req.Latitude, Longitude: w.req.Longitude}},
		State:    pb.HelpRequest_STATE_OPEN,
	}
	if rng.IntN(4) == 0 {
		// From a crowd's point: the request at a postcode centre too.
		c := w.crowds[rng.IntN(len(w.crowds))]
		r.Location.LatLng = &pb.LatLng{Latitude: c.Latitude, Longitude: c.Longitude}
	}
	if rng.IntN(6) == 0 {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(start.Add(dur))}
	} else {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(dur))}}
	}
	if rng.Float64() < w.sc.remote {
		r.RemoteOk = true
		r.Needs = [][]pb.Need{{pb.Need_NEED_BEFRIENDING_CALL}, {pb.Need_NEED_OTHER}, {pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_OTHER}}[rng.IntN(3)]
	} else {
		r.Needs = [][]pb.Need{{pb.Need_NEED_GROCERY_SHOPPING}, {pb.Need_NEED_TRANSPORT}, {pb.Need_NEED_FOOD_PARCEL}, {pb.Need_NEED_BEFRIENDING_CALL}, {pb.Need_NEED_TRANSPORT, pb.Need_NEED_PRESCRIPTION_COLLECTION}}[rng.IntN(5)]
		r.EntersHome = rng.IntN(4) == 0
		r.RemoteOk = rng.IntN(6) == 0 // with needs that keep their limits
	}
	switch rng.IntN(8) {
	case 2, 3, 4:
		if w.sc.skills {
			for n := 1 + rng.IntN(2); n > 0; n-- {
				r.RequiredSkills = append(r.RequiredSkills, fmt.Sprintf("s%02d", rng.IntN(80)))
			}
		}
	case 0:
		r.RequiredSkills = []string{"welsh"}
	case 1:
		r.RequiredSkills = []string{"klingon", "bsl"}
	}
	var prev []string
	if len(names) > 0 {
		for n := rng.IntN(4); n > 0; n-- {
			r.DeclinedVolunteers = append(r.DeclinedVolunteers, names[rng.IntN(len(names))])
		}
		if rng.IntN(3) == 0 {
			prev = append(prev, names[rng.IntN(len(names))])
		}
	}
	return r, prev, now
}

// diffCompare checks one search of e against the reference over vs, and
// Eligible for each volunteer; it returns a description of the first
// difference, or "".
func diffCompare(e *Engine, vs []*pb.Volunteer, r *pb.HelpRequest, prev []string, k int, now time.Time) string {
	cfg := DefaultConfig()
	res, err := e.FindCandidates(r, prev, k, now)
	if err != nil {
		return err.Error()
	}
	defer res.Release()
	want, wantWhy := diffFind(vs, r, prev, k, now, cfg)
	reach := diffReach(r, cfg)
	for _, v := range vs {
		m := diffMetres(v, r)
		w, det := diffWhy(v, r, m, Remote(r), now, cfg)
		if m > reach {
			w, det = TooFar, ""
		}
		ok, x, err := e.Eligible(r, prev, v.Name, now)
		if err != nil {
			return err.Error()
		}
		gd := x.Detail
		if x.Reason != MissingSkill {
			gd = ""
		}
		if ok != (w == "") || x.Reason != w || gd != det {
			return fmt.Sprintf("Eligible(%s) = %v %v %q, want %q %q", v.Name, ok, x.Reason, x.Detail, w, det)
		}
	}
	var got []diffCand
	for _, c := range res.Candidates {
		got = append(got, diffCand{c.Volunteer, c.Score, c.Metres})
	}
	if !slices.Equal(got, want) {
		return fmt.Sprintf("candidates\n got  %v\n want %v", got, want)
	}
	if res.Short != (len(want) < k) {
		return fmt.Sprintf("short %v with %d of %d", res.Short, len(want), k)
	}
	gotWhy := map[string]int{}
	for _, x := range res.Exclusions {
		d := x.Detail
		if x.Reason != MissingSkill {
			d = ""
		}
		gotWhy[string(x.Reason)+"/"+d] += x.Count
	}
	if wantWhy == nil {
		wantWhy = map[string]int{}
	}
	if fmt.Sprint(gotWhy) != fmt.Sprint(wantWhy) {
		return fmt.Sprintf("counts of why\n got  %v\n want %v", gotWhy, wantWhy)
	}
	// The slot each candidate's sentence names is one they are free in.
	byName := map[string]*pb.Volunteer{}
	for _, v := range vs {
		byName[v.Name] = v
	}
	for _, c := range res.Candidates {
		one := proto.Clone(byName[c.Volunteer]).(*pb.Volunteer)
		one.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek((int(c.slot.day)+6)%7 + 1), StartTime: &pb.TimeOfDay{Hours: int32(c.slot.from / 60), Minutes: int32(c.slot.from % 60)}, EndTime: &pb.TimeOfDay{Hours: int32(c.slot.to / 60), Minutes: int32(c.slot.to % 60)}}}
		if why, _ := diffWhy(one, r, c.Metres, Remote(r), now, cfg); why != "" {
			return fmt.Sprintf("%s: %q names a slot they are not free in (%s)", c.Volunteer, c.Explain(), why)
		}
	}
	return ""
}

// diffEngine is an engine holding vs, written in order.
func diffEngine(t testing.TB, vs []*pb.Volunteer) *Engine {
	t.Helper()
	e := NewEngine(DefaultConfig())
	for _, v := range vs {
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// diffLoaded is an engine built from vs as the server builds it at
// start: each record taken in from its stored bytes (DecodeVolunteer),
// then Compact.
func diffLoaded(t testing.TB, vs []*pb.Volunteer) *Engine {
	t.Helper()
	e := NewEngine(DefaultConfig())
	e.Reserve(len(vs))
	for _, v := range vs {
		rec := proto.Clone(v).(*pb.Volunteer)
		rec.Contact = nil
		b, err := proto.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		in := new(Volunteer)
		if err := DecodeVolunteer(b, v.Contact, in); err != nil {
			t.Fatal(err)
		}
		if err := e.Upsert(in); err != nil {
			t.Fatal(err)
		}
	}
	e.Compact()
	return e
}

// TestFindCandidatesAgainstPlainReference runs each scenario: searches on
// a fresh engine, then through edits of one field at a time, removals and
// returns, Compact, and an engine rebuilt from the same volunteers in
// another order, each search compared with the reference.
func TestFindCandidatesAgainstPlainReference(t *testing.T) {
	for i, sc := range diffScenarios {
		t.Run(sc.name, func(t *testing.T) {
			rounds := 40
			if diffRace {
				rounds = 10
			}
			diffRun(t, sc, uint64(i+1), rounds)
		})
	}
}

func diffRun(t *testing.T, sc diffScenario, seed uint64, rounds int) {
	defer func(b int) { searchBudget = b }(searchBudget)
	if sc.budget != 0 {
		searchBudget = max(sc.budget, 0)
	}
	rng := rand.New(rand.NewPCG(seed, 21))
	w := &diffWorld{sc: sc, rng: rng, req: &pb.LatLng{Latitude: baseLat, Longitude: baseLng}}
	if sc.at != nil {
		w.req = sc.at
	}
	for range 3 {
		w.crowds = append(w.crowds, w.at(rng.Float64()*sc.spread*0.5))
	}
	var vs []*pb.Volunteer
	for range sc.n {
		vs = append(vs, w.volunteer())
	}
	e := diffEngine(t, vs)
	names := func() []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	fails := 0
	search := func(stage string, e *Engine, n int) {
		for range n {
			r, prev, now := w.request(names())
			k := sc.pages[rng.IntN(len(sc.pages))]
			if d := diffCompare(e, vs, r, prev, k, now); d != "" {
				fails++
				start, end := diffWindow(r, now)
				t.Errorf("%s: k=%d %v remote=%v enters=%v skills=%v at %.6f,%.6f %s..%s now %s prev %v declined %v: %s",
					stage, k, r.Needs, r.RemoteOk, r.EntersHome, r.RequiredSkills, r.Location.LatLng.Latitude, r.Location.LatLng.Longitude, start.Format(time.RFC3339), end.Format(time.RFC3339), now.Format(time.RFC3339), prev, r.DeclinedVolunteers, d)
				if fails >= 5 {
					t.FailNow()
				}
			}
		}
	}
	search("fresh", e, 10)
	for round := range rounds {
		// A few writes, reaching the grid at the next search.
		for range 1 + rng.IntN(4) {
			i := rng.IntN(len(vs))
			switch op := rng.IntN(12); {
			case op == 0 && len(vs) > 10:
				e.RemoveVolunteer(vs[i].Name)
				vs = slices.Delete(vs, i, i+1)
			case op == 2:
				// Compact with writes not yet in the grid.
				e.Compact()
			case op == 3 && len(vs) > 10:
				// Gone and back: their engine id may be another's now.
				e.RemoveVolunteer(vs[i].Name)
				v := proto.Clone(vs[i]).(*pb.Volunteer)
				w.edit(v, rng.IntN(diffFields))
				vs[i] = v
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
			case op == 1:
				v := w.volunteer()
				vs = append(vs, v)
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
			default:
				v := proto.Clone(vs[i]).(*pb.Volunteer)
				w.edit(v, rng.IntN(diffFields))
				vs[i] = v
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
			}
		}
		search(fmt.Sprintf("round %d", round), e, 2)
		if round%10 == 9 {
			e.Compact()
			search(fmt.Sprintf("compacted %d", round), e, 3)
			shuffled := slices.Clone(vs)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			search(fmt.Sprintf("rebuilt %d", round), diffEngine(t, shuffled), 3)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			search(fmt.Sprintf("loaded %d", round), diffLoaded(t, shuffled), 3)
		}
	}
}

// FuzzFindCandidatesAgainstPlainReference is the scenarios' comparison
// with seeds the fuzzer chooses: `go test -fuzz
// FuzzFindCandidatesAgainstPlainReference ./matcher`.
func FuzzFindCandidatesAgainstPlainReference(f *testing.F) {
	for i := range diffScenarios {
		f.Add(uint64(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, which uint8) {
		rounds := 10
		if diffRace {
			rounds = 3
		}
		diffRun(t, diffScenarios[int(which)%len(diffScenarios)], seed, rounds)
	})
}
