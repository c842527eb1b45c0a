package server_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestHugeListOfBadEntriesRefusedBriefly: a buggy app that sends a list
// of hundreds of thousands of bad entries, inside the message limit, is
// told INVALID_ARGUMENT on the list with a reply that names a bounded
// number of problems, and the server does not spend hundreds of megabytes
// building it. Before, a million bad needs made a reply the connection
// could not carry: the caller met UNAVAILABLE, as did every other call on
// its connection.
func TestHugeListOfBadEntriesRefusedBriefly(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(validVolunteer())
	for _, tc := range []struct {
		name  string
		field string // the prefix every listed violation has
		call  func(ctx context.Context) error
	}{
		{"unspecified needs", "help_request.needs", func(ctx context.Context) error {
			hr := validHelpRequest()
			hr.Needs = make([]pb.Need, 900_000)
			_, err := h.hr.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
			return err
		}},
		{"repeated need", "help_request.needs", func(ctx context.Context) error {
			hr := validHelpRequest()
			hr.Needs = make([]pb.Need, 900_000)
			for i := range hr.Needs {
				hr.Needs[i] = pb.Need_NEED_GROCERY_SHOPPING
			}
			_, err := h.hr.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
			return err
		}},
		{"bad weekly slots", "volunteer.availability.weekly", func(ctx context.Context) error {
			v := validVolunteer()
			for range 60_000 {
				v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{})
			}
			_, err := h.vol.CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: v})
			return err
		}},
		{"bad away ranges", "volunteer.availability.away", func(ctx context.Context) error {
			v := validVolunteer()
			for range 200_000 {
				v.Availability.Away = append(v.Availability.Away, &pb.DateRange{})
			}
			_, err := h.vol.CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: v})
			return err
		}},
		{"bad update_mask paths", "update_mask", func(ctx context.Context) error {
			paths := make([]string, 300_000)
			for i := range paths {
				paths[i] = "x"
			}
			_, err := h.vol.UpdateVolunteer(ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: vol.Name, Capacity: 3},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
			return err
		}},
		{"bad event types", "types", func(ctx context.Context) error {
			stream, err := h.ev.WatchEvents(ctx, &pb.WatchEventsRequest{Types: make([]pb.Event_Type, 900_000)})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.call(h.ctx)
			runtime.ReadMemStats(&after)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
			var listed int
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.FieldViolations {
						listed++
						if len(fv.Field) < len(tc.field) || fv.Field[:len(tc.field)] != tc.field {
							t.Errorf("violation names %q, want a field under %s", fv.Field, tc.field)
						}
					}
				}
			}
			// The request itself is under a megabyte, sent and decoded:
			// a few times that is what refusing it may cost.
			if listed == 0 || listed > 101 {
				t.Errorf("reply lists %d violations, want 1 to 101", listed)
			}
			if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 48 {
				t.Errorf("refusing it allocated %d MB", mb)
			}
		})
	}
}

// TestViolationsStopAtTheirBound: a request with more bad needs than a
// reply lists, and a bad field after them (an urgency the server does
// not know). The reply lists the first maxViolations, then one entry that
// says more were left out, and nothing after it: the bad urgency listed
// after "only the first 100 problems are listed" contradicts it.
func TestViolationsStopAtTheirBound(t *testing.T) {
	h := newHarness(t)
	hr := validHelpRequest()
	hr.Needs = make([]pb.Need, 300)
	hr.Urgency = 99
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
	st := status.Convert(err)
	var fvs []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			fvs = append(fvs, br.FieldViolations...)
		}
	}
	if st.Code() != codes.InvalidArgument || len(fvs) != 101 {
		t.Fatalf("got %v with %d violations, want INVALID_ARGUMENT with 101", st.Code(), len(fvs))
	}
	if last := fvs[100].Description; !strings.HasPrefix(last, "and more: only the first 100 problems are listed") {
		t.Errorf("the last violation says %q, want that more were left out", last)
	}
}
