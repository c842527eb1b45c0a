package server_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// annsJobs is Ann, who drives, speaks Welsh and has an enhanced DBS check
// good for a month, assigned three jobs in the days ahead: a lift (the
// driver skill, a basic check) on day 3, a visit inside a caller's home
// (an enhanced check) on day 5, and a call in Welsh on day 7.
type annsJobs struct {
	h                  *harness
	clock              *testClock
	ann                *pb.Volunteer
	lift, visit, welsh *pb.HelpRequest
	day                func(n int) *pb.Date
	at                 func(n, hour int) time.Time
	self               pb.VolunteerServiceClient
}

func newAnnsJobs(t *testing.T) *annsJobs {
	t.Helper()
	london := londonZone(t)
	clock := &testClock{t: time.Now()}
	y, m, d := clock.now().In(london).Date()
	a := &annsJobs{clock: clock, h: newHarnessWithClock(t, clock)}
	a.at = func(n, hour int) time.Time { return time.Date(y, m, d+n, hour, 0, 0, 0, london) }
	a.day = func(n int) *pb.Date {
		t := a.at(n, 12)
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	a.ann = a.h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
		v.Skills = []string{"driver", "welsh", "dog-friendly"}
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: a.day(30)}
		v.Capacity = 3
	}))
	window := func(n int) func(*pb.HelpRequest) {
		return func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(a.at(n, 10)), EndTime: timestamppb.New(a.at(n, 12))}}
		}
	}
	a.lift = a.h.createHR(shopping(window(3), callerPhone("01224 100001"), func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }))
	a.visit = a.h.createHR(shopping(window(5), callerPhone("01224 100002"), func(r *pb.HelpRequest) { r.EntersHome = true }))
	a.welsh = a.h.createHR(shopping(window(7), callerPhone("01224 100003"), func(r *pb.HelpRequest) { r.RequiredSkills = []string{"welsh"} }))
	for _, hr := range []*pb.HelpRequest{a.lift, a.visit, a.welsh} {
		a.h.invAssign(hr.Name, a.ann.Name)
	}
	a.self = pb.NewVolunteerServiceClient(a.h.as(a.h.newToken(a.h.st, &pb.Token{DisplayName: "ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: a.ann.Name})))
	return a
}

// edit sends the fields of edit named by paths, by c, for Ann.
func (a *annsJobs) edit(c pb.VolunteerServiceClient, edit *pb.Volunteer, paths ...string) error {
	edit.Name = a.ann.Name
	_, err := c.UpdateVolunteer(a.h.ctx, &pb.UpdateVolunteerRequest{Volunteer: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	return err
}

// TestVolunteerEditLeavesAnAssignedJob: an edit of Ann's record that would
// newly leave her without what a job she is assigned needs (she gives up
// driving, or staff lower or revoke her DBS check, or bring its expiry
// before the job) would send her all the same: it is refused
// (HAS_COMMITMENTS, naming the job), as dates away over it are, and
// changes nothing until she hands the job back. Edits that leave her
// what her jobs need stand.
func TestVolunteerEditLeavesAnAssignedJob(t *testing.T) {
	type who int
	const (
		herself who = iota
		coordinator
	)
	for _, tc := range []struct {
		name  string
		by    who
		edit  func(a *annsJobs) (*pb.Volunteer, []string)
		names func(a *annsJobs) []string // the jobs it may name; none: it stands
	}{
		{"she gives up driving", herself, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Skills: []string{"welsh", "dog-friendly"}}, []string{"skills"}
		}, func(a *annsJobs) []string { return []string{a.lift.Name} }},
		{"a coordinator takes off driver", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Skills: []string{"welsh"}}, []string{"skills"}
		}, func(a *annsJobs) []string { return []string{a.lift.Name} }},
		{"she gives up welsh", herself, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Skills: []string{"driver", "dog-friendly"}}, []string{"skills"}
		}, func(a *annsJobs) []string { return []string{a.welsh.Name} }},
		{"she gives up a skill no job needs", herself, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Skills: []string{"driver", "welsh"}}, []string{"skills"}
		}, nil},
		{"vetting lowered to basic", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: a.day(30)}}, []string{"vetting"}
		}, func(a *annsJobs) []string { return []string{a.visit.Name} }},
		{"DBS check revoked", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_NONE}}, []string{"vetting"}
		}, func(a *annsJobs) []string { return []string{a.lift.Name, a.visit.Name} }},
		{"expires before the visit", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: a.day(4)}}, []string{"vetting"}
		}, func(a *annsJobs) []string { return []string{a.visit.Name} }},
		{"expires before the lift and the visit", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: a.day(2)}}, []string{"vetting"}
		}, func(a *annsJobs) []string { return []string{a.lift.Name, a.visit.Name} }},
		{"expires on the day of the visit", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: a.day(5)}}, []string{"vetting"}
		}, nil},
		{"expires after every job", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: a.day(10)}}, []string{"vetting"}
		}, nil},
		{"her whole record sent back as read, by a coordinator", coordinator, func(a *annsJobs) (*pb.Volunteer, []string) {
			return a.h.getVol(a.ann.Name), []string{"*"}
		}, nil},
		{"her whole record sent back as read, by herself", herself, func(a *annsJobs) (*pb.Volunteer, []string) {
			return a.h.getVol(a.ann.Name), []string{"*"}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAnnsJobs(t)
			c := a.h.vol
			if tc.by == herself {
				c = a.self
			}
			send := func() error {
				edit, paths := tc.edit(a)
				return a.edit(c, edit, paths...)
			}
			before := a.h.getVol(a.ann.Name)
			err := send()
			if tc.names == nil {
				if err != nil {
					t.Fatalf("an edit that leaves her what her jobs need: %v", err)
				}
				return
			}
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonHasCommitments)
			if got := a.h.getVol(a.ann.Name); got.Etag != before.Etag {
				t.Errorf("refused, yet her record changed: skills %v, vetting %v", got.Skills, got.Vetting)
			}
			// Each refusal names one job she cannot do as edited, and says
			// how to hand it back; handed back, the edit stands.
			names := tc.names(a)
			for range names {
				job := statusMeta(t, err, "help_request")
				if !slices.Contains(names, job) {
					t.Fatalf("the refusal names %q, want one of %v", job, names)
				}
				if msg := status.Convert(err).Message(); !strings.Contains(msg, job) || !strings.Contains(msg, "ReleaseHelpRequest") {
					t.Errorf("the refusal says %q: want it to name %s and say how to hand it back", msg, job)
				}
				if _, err := a.h.match.ReleaseHelpRequest(a.h.ctx, &pb.ReleaseHelpRequestRequest{Name: job}); err != nil {
					t.Fatal(err)
				}
				names = slices.DeleteFunc(names, func(n string) bool { return n == job })
				if err = send(); err == nil {
					break
				}
			}
			if err != nil {
				t.Errorf("with the jobs handed back: %v", err)
			}
		})
	}
}

// TestVolunteerEditOnceAJobIsUnderWay: Ann is on the lift, its window
// begun. She gives up driving (she will sell the car): the lift under way
// is not judged (she is there already, and handing it back would leave the
// caller stranded), and the edit stands; lowering her vetting is still
// refused for the visit not yet begun.
func TestVolunteerEditOnceAJobIsUnderWay(t *testing.T) {
	a := newAnnsJobs(t)
	a.clock.t = a.at(3, 10).Add(30 * time.Minute)
	wantFailure(t, a.edit(a.h.vol, &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}}, "vetting"),
		codes.FailedPrecondition, server.ReasonHasCommitments)
	if err := a.edit(a.self, &pb.Volunteer{Skills: []string{"welsh"}}, "skills"); err != nil {
		t.Errorf("giving up driving during the lift: %v", err)
	}
}

// TestVolunteerEditAlreadyUnqualified: Bea took a job inside a caller's
// home, a lift due within three days, while her enhanced check held; it
// ran out yesterday. An edit that leaves her short of nothing she was not
// short of already (staff record the check's level as basic, or she gives
// up a skill the job does not ask) is not this edit's doing, and stands.
func TestVolunteerEditAlreadyUnqualified(t *testing.T) {
	london := londonZone(t)
	for _, tc := range []struct {
		name  string
		edit  *pb.Volunteer
		paths []string
	}{
		{"she gives up welsh", &pb.Volunteer{Skills: []string{"driver"}}, []string{"skills"}},
		{"her check recorded as basic", &pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}}, []string{"vetting"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, bea, _ := lapsedLift(t, london, 3)
			tc.edit.Name = bea.Name
			if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: tc.edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.paths}}); err != nil {
				t.Errorf("her check already run out: %v", err)
			}
		})
	}
}

// TestVolunteerEditAlreadyUnqualifiedAsksNoMore: Bea's enhanced check ran
// out after she took a lift inside a caller's home. She then gives up
// driving: that is a new lack, not the one she had, and would outlast
// it: once staff record her check renewed, nothing else stands between
// a volunteer who does not drive and the lift. As an edit of the request
// that asks something new of her is refused (NOT_ELIGIBLE), so is this
// one (HAS_COMMITMENTS, MISSING_SKILL); the renewal stands.
func TestVolunteerEditAlreadyUnqualifiedAsksNoMore(t *testing.T) {
	h, bea, hr := lapsedLift(t, londonZone(t), 5)
	edit := func(v *pb.Volunteer, paths ...string) error {
		v.Name = bea.Name
		_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: v, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		return err
	}
	err := edit(&pb.Volunteer{Skills: []string{"welsh"}}, "skills")
	renewed := edit(&pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: int32(time.Now().Year() + 2), Month: 1, Day: 1}}}, "vetting")
	if renewed != nil {
		t.Fatalf("her check renewed: %v", renewed)
	}
	if got, v := h.getHR(hr.Name), h.getVol(bea.Name); got.AssignedVolunteer == bea.Name && !slices.Contains(v.Skills, "driver") {
		t.Fatalf("giving up driving stood (%v), and with her check renewed she is assigned the lift %s without driving", err, hr.Name)
	}
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonHasCommitments)
	if rule := statusMeta(t, err, "rule"); rule != "MISSING_SKILL" {
		t.Errorf("refused for rule %q, want MISSING_SKILL", rule)
	}
}

// lapsedLift serves a clock on which Bea, who drives and speaks Welsh, took
// a lift inside a caller's home, due within dueDays, while her enhanced
// check held; it ran out yesterday, two days on. It returns her and the lift.
func lapsedLift(t *testing.T, london *time.Location, dueDays int) (*harness, *pb.Volunteer, *pb.HelpRequest) {
	t.Helper()
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	y, m, d := clock.now().In(london).Date()
	tomorrow := time.Date(y, m, d+1, 12, 0, 0, 0, london)
	bea := h.createVol(matchVolunteer("Bea", "AB10 1AF", func(v *pb.Volunteer) {
		v.Skills = []string{"driver", "welsh"}
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: int32(tomorrow.Year()), Month: int32(tomorrow.Month()), Day: int32(tomorrow.Day())}}
	}))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT}
		r.EntersHome = true
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Date(y, m, d+dueDays, 18, 0, 0, 0, london))}
	}))
	h.invAssign(hr.Name, bea.Name)
	clock.advance(48 * time.Hour)
	return h, bea, hr
}
