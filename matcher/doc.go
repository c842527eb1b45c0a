// Package matcher pairs help requests with volunteers.
//
// It is pure Go with no I/O: an in-memory spatial index of volunteers (a
// uniform grid, see grid.go), the eligibility rules, an explainable
// ranking, and an exact assignment solver for dispatching many requests at
// once (solver.go). The server builds an Engine from the store at start,
// tells it about every write, and asks it for candidates; it never reads
// the store itself, so that it stays fast, deterministic and testable.
//
// # Eligibility
//
// A volunteer can help with a request only if every rule holds, checked in
// this order (the first that fails is the reason counted for "why nobody"):
// within their own distance limit (TOO_FAR; the search itself stops at the
// request's need limit); not paused, nor held by a coordinator (PAUSED); not having declined or let
// lapse an offer of it (DECLINED_BEFORE); assignments plus pending offers
// below capacity (AT_CAPACITY); every required skill (MISSING_SKILL, naming the
// first of the request's, in its order, that they lack);
// vetting at the level the needs demand, unexpired on the date help starts
// where the volunteer lives, and, for a check that runs out within the
// window, free on a day it still covers (VETTING); not away on the days of the window (AWAY); a weekly slot
// overlapping the window, in the volunteer's own time zone (NOT_AVAILABLE);
// and, for a request with a window, room for its job among the jobs
// they already hold then (BUSY, see busy.go).
// A search that finds fewer than asked for says why (Result.Summary): the
// counts by rule of those in reach it left out, or, when it left nobody
// out, that nobody else lives within its reach. A single volunteer found
// ineligible (Eligible) is told of in their own terms (Exclusion.Why),
// with the distance and the limit when distance is the reason. The limits,
// vetting and skills of each need, and the weights below, are the Config's
// (DefaultConfig; doorstepd reads a file over it).
//
// # Ranking
//
// Lower scores rank first. A score is in metres: the distance (not counted
// for a remote request), less a bonus for living on the same street and one
// for the same postcode unit, plus a fairness term for each assignment
// taken in the last 7 days, less a continuity bonus for having helped the
// same requester before. Equal scores are ordered by distance, then by
// volunteer name, so the order is deterministic. The request's urgency
// does not reorder one request's candidates; dispatch uses it to decide
// which requests to cover first. A remote request (remote_ok, with only
// needs met from afar and nobody going inside: Remote) has no distance
// rule and no distance in its scores, but its candidates are drawn from the nearest eligible
// volunteers (the 50 nearest, or as many as are asked for if more), so
// that a befriender is local if one can be; the best of that pool come
// first, however many are asked for.
//
// # Cost
//
// Writes only note that a volunteer's grid entry is stale; the grid catches
// up before the next search (in one bulk build when it is empty, as after
// loading a store), and Compact lays everything out afresh in Z-order. A
// write first reads ahead, level by level, what its lookups and the grid's
// catching up will read in turn (warmUpsert), so that their cache misses
// overlap: a volunteer anywhere has nothing in the caches. A
// volunteer costs about 295 bytes (BenchmarkEngineBuild), some 50 of them
// its name and display name: a short record without pointers, a packed
// one the rules read first, a 16-byte grid entry whose tag settles most
// rejections without either record (tag.go), names, display names,
// postcodes, streets and weekly slots in shared arenas, and id, postcode
// and street lookups that are tables of 4-byte numbers rather than maps,
// and each grid block (1.6 km square) keeps an aggregate of its tags, a
// few dozen bytes a block, and a tally of its volunteers by kind (flags,
// vetting, skills), merged again for each square of 2×2 blocks and of 8×8
// (patch.go), so that a remote request's count of why, over everyone
// within 50 km, takes a square, or else a block, whose volunteers are all
// out of hours whole; so does an
// in-person count, for a block whose volunteers' own reach, by the counts
// of each reach class it keeps, covers all of it. Each block also marks
// the cells holding someone who may be free in the evening (outside
// 06:00 to 17, 18, 19 or 20:00), so that a search at 20:00, when most
// are not, reads those cells alone, as it reads only the cells holding a
// skill it needs. A search's cost
// grows with the volunteers in reach, not the engine's size. The candidate
// search passes over, unread, any block whose aggregate shows nobody in it
// can be eligible (at night, with a skill nobody there has), so a
// dispatch, which never asks why, pays little for requests few can help.
// Until it has k, it turns most volunteers away by their tags alone,
// before working out their distance. FindCandidates counts why volunteers
// in reach were left out only when it ends with fewer than the asked-for
// number, by a sweep of the blocks under the request's circle in memory
// order that judges most by their tags and reads the records of the rest
// in batches whose cache misses overlap (count.go). A search that has read
// fifty, a hundred or two hundred volunteers without finding enough, and
// whose finds so far promise too few in all its reach, gives up and sweeps
// instead: the
// sweep finds the same volunteers and counts the rest as it goes, so few
// requests read their reach twice over. Those requests, which must read
// everyone within the need's limit, still make the slowest percentile,
// their cost growing with the volunteers in reach. The volunteers on the
// request's street and in its unit, who may earn a bonus, are found
// through lists of their own, and judged only once the first candidates
// found bound the score they must beat: the rules are applied to those
// near enough to beat it, not to everyone down a long street.
//
// # Dispatch and the lock
//
// Searches share a read lock and writes take it alone. A dispatch holds it
// for one run of searches at a time (32 requests), not for the whole plan,
// and solves without it, so that an accept or an edit waits for one run,
// not for the seconds a plan can take under scarcity; an engine id held
// across those gaps is checked against the engine's id epoch, and the plan
// is made again under the lock in the rare case one changed hands.
//
// # Dispatch under scarcity
//
// Each request brings its nearest eligible volunteers (20 by default) to
// the assignment problem. Where volunteers are scarce, a request's few
// may all be taken by requests only they can take, while someone a
// little further off is free: the requests a path of candidates leads to
// from one left open (found on maxCover's assignment, maxcover.go) bring
// four times as many, and the problem is solved over those (widen).
package matcher
