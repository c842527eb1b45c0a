package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// editBeforeVolunteerWrite is a store whose next UpdateVolunteer first
// runs between, as another caller's edit landing after the server judged
// the volunteer's edit and before it wrote it.
type editBeforeVolunteerWrite struct {
	store.Store
	between func()
}

func (e *editBeforeVolunteerWrite) UpdateVolunteer(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error) {
	if f := e.between; f != nil {
		e.between = nil
		f()
	}
	return e.Store.UpdateVolunteer(ctx, v)
}

// TestVolunteerEditRacingAnEditOfTheirJob: Ann, enhanced DBS check and a
// driver, is assigned a job. A coordinator records her check revoked (or
// she gives up driving) while helpline staff, on the caller's line, make
// the job a visit inside the home (or one that needs a driver). Each edit
// alone is judged and would be refused with the other in place; landing
// together, one of them must still be refused: Ann must never be left
// assigned a job she may not do.
func TestVolunteerEditRacingAnEditOfTheirJob(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timing   func(at func(n, hour int) time.Time) func(*pb.HelpRequest)
		job      func(*pb.HelpRequest)
		jobPaths []string
		vol      *pb.Volunteer
		volPaths []string
		fit      func(hr *pb.HelpRequest, v *pb.Volunteer) bool
	}{
		{"inside the home, with a window", window3,
			func(r *pb.HelpRequest) { r.EntersHome = true }, []string{"enters_home"},
			&pb.Volunteer{Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_NONE}}, []string{"vetting"},
			func(hr *pb.HelpRequest, v *pb.Volunteer) bool {
				return !hr.EntersHome || v.GetVetting().GetLevel() == pb.Vetting_DBS_LEVEL_ENHANCED
			}},
		{"a skill, with a window", window3,
			func(r *pb.HelpRequest) { r.RequiredSkills = []string{"welsh"} }, []string{"required_skills"},
			&pb.Volunteer{Skills: []string{"driver"}}, []string{"skills"},
			func(hr *pb.HelpRequest, v *pb.Volunteer) bool {
				return len(hr.RequiredSkills) == 0 || len(v.Skills) == 2
			}},
		{"a lift, by a deadline", deadline3,
			func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }, []string{"needs"},
			&pb.Volunteer{Skills: []string{"welsh"}}, []string{"skills"},
			func(hr *pb.HelpRequest, v *pb.Volunteer) bool {
				return len(hr.Needs) == 0 || v.Skills[0] == "driver"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			london := londonZone(t)
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			race := &editBeforeVolunteerWrite{}
			h.wrap = func(st store.Store) store.Store { race.Store = st; return race }
			h.reopen()
			y, m, d := clock.now().In(london).Date()
			at := func(n, hour int) time.Time { return time.Date(y, m, d+n, hour, 0, 0, 0, london) }
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
				v.Skills = []string{"driver", "welsh"}
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: int32(y + 1), Month: 1, Day: 1}}
			}))
			hr := h.createHR(shopping(tc.timing(at)))
			h.invAssign(hr.Name, ann.Name)

			var jobErr error
			race.between = func() {
				edit := &pb.HelpRequest{Name: hr.Name}
				tc.job(edit)
				_, jobErr = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.jobPaths}})
			}
			tc.vol.Name = ann.Name
			_, volErr := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: tc.vol, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.volPaths}})
			got, v := h.getHR(hr.Name), h.getVol(ann.Name)
			if got.State == pb.HelpRequest_STATE_ASSIGNED && got.AssignedVolunteer == ann.Name && !tc.fit(got, v) {
				t.Errorf("both edits stood (job edit: %v; volunteer edit: %v): Ann is assigned %s, needs %v, skills %v, inside the home %v, with skills %v and check %v",
					jobErr, volErr, got.Name, got.Needs, got.RequiredSkills, got.EntersHome, v.Skills, v.GetVetting().GetLevel())
			}
		})
	}
}

func window3(at func(n, hour int) time.Time) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at(3, 10)), EndTime: timestamppb.New(at(3, 12))}}
	}
}

func deadline3(at func(n, hour int) time.Time) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) { r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(at(3, 18))} }
}
