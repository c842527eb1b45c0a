package main

import (
	"bytes"
	"context"
	"fmt"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"net"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// newerServer plays a server built from a later API than this command: it
// changes the real server's answers as one would send them (enum values
// and fields this build does not know) and keeps the requests it was sent,
// as they came off the wire, unknown fields and all.
type newerServer struct {
	mu      sync.Mutex
	answer  func(method string, resp proto.Message)
	written map[string]proto.Message // the last request of each method
}

func (n *newerServer) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	n.mu.Lock()
	if n.written == nil {
		n.written = map[string]proto.Message{}
	}
	n.written[info.FullMethod] = proto.Clone(req.(proto.Message))
	n.mu.Unlock()
	resp, err := handler(ctx, req)
	if err == nil && n.answer != nil {
		n.answer(info.FullMethod, resp.(proto.Message))
	}
	return resp, err
}

func (n *newerServer) sent(method string) proto.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.written[method]
}

// newTestEnvNewer is newTestEnv behind a newerServer.
func newTestEnvNewer(t *testing.T, n *newerServer) *testEnv {
	t.Helper()
	// UnaryInterceptor runs before the server's own chain, which drops
	// unknown fields: the request is seen as the command sent it.
	return newTestEnvWith(t, grpc.UnaryInterceptor(n.intercept))
}

// unknownField is a field number no version of the API has used, with a
// varint value: what a newer server's new field looks like to this build.
func unknownField() []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, 999, protowire.VarintType), 7)
}

// olderServerPlayed plays a server built before methods and fields this command
// uses: it answers as a real one of that age did (gRPC's own
// UNIMPLEMENTED for a method it lacks; the update_mask refusal of a path
// it has no field for, in the words servers have always used).
func olderServerPlayed(lacks ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		for _, m := range lacks {
			if strings.HasSuffix(info.FullMethod, "/"+m) {
				return nil, status.Errorf(codes.Unimplemented, "unknown method %s for service %s", m, path.Dir(info.FullMethod)[1:])
			}
		}
		if u, ok := req.(*pb.UpdateVolunteerRequest); ok {
			for i, p := range u.GetUpdateMask().GetPaths() {
				if slices.Contains(lacks, p) {
					st, _ := status.New(codes.InvalidArgument, "invalid fields").WithDetails(
						&errdetails.ErrorInfo{Reason: "INVALID_FIELDS", Domain: "doorstep.v1"},
						&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
							Field: fmt.Sprintf("update_mask.paths[%d]", i), Description: fmt.Sprintf("%q is not a field that can be updated", p)}}})
					return nil, st.Err()
				}
			}
		}
		return handler(ctx, req)
	}
}

// A worker whose doorstep is newer than the server it talks to is told
// that the server is older and is to be upgraded, and what cannot be done
// until then, not that the server "does not offer this yet" or that a
// field they never named cannot be updated.
func TestOlderServerSaysUpgrade(t *testing.T) {
	e := newTestEnvWith(t, grpc.UnaryInterceptor(olderServerPlayed("CreateBackup", "ReleaseHelpRequest", "held")))
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	for _, tc := range []struct {
		args []string
		then string
	}{
		{[]string{"volunteer", "hold", callum}, "doorstep volunteer hold"},
		{[]string{"volunteer", "unhold", callum}, "doorstep volunteer unhold"},
		{[]string{"request", "release", req}, "doorstep request release"},
		{[]string{"admin", "backup"}, "doorstep admin backup"},
	} {
		if tc.args[0] == "admin" {
			e.env["DOORSTEP_TOKEN"] = e.newToken(pb.Role_ROLE_ADMIN)
		}
		r := e.run(tc.args...)
		want := "The Doorstep server at " + e.addr + " is an older version that cannot do this (" + tc.then + "): ask whoever runs it to upgrade it"
		if r.code != exitFailed || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("doorstep %s: exit %d, stderr %q; want exit %d, starting %q", strings.Join(tc.args, " "), r.code, r.stderr, exitFailed, want)
		}
	}
}

// A port that serves gRPC but no Doorstep (another program's, given by
// mistake) is not called an older Doorstep server.
func TestNotADoorstepServer(t *testing.T) {
	g := grpc.NewServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	e := newTestEnv(t)
	e.env["DOORSTEP_ADDR"] = lis.Addr().String()
	r := e.run("request", "list")
	want := "The server at " + lis.Addr().String() + " does not offer doorstep.v1.HelpRequestService: check that --addr (or DOORSTEP_ADDR) is a Doorstep server's address"
	if r.code != exitFailed || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit %d, starting %q", r.code, r.stderr, exitFailed, want)
	}
}

// A worker whose doorstep is older than the server is shown an enum value
// added since (a new need, state, urgency or travel mode) as unknown, with
// its number, never as a bare number that reads as a count, and never as
// a known value.
func TestNewerServerEnumValuesShownUnknown(t *testing.T) {
	n := &newerServer{}
	e := newTestEnvNewer(t, n)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	e.ok("request", "cancel", req)
	n.answer = func(_ string, resp proto.Message) {
		newer := func(hr *pb.HelpRequest) {
			hr.Needs = append(hr.Needs, pb.Need(99))
			hr.State = pb.HelpRequest_State(99)
			hr.Urgency = pb.Urgency(9)
		}
		switch r := resp.(type) {
		case *pb.GetHelpRequestResponse:
			newer(r.HelpRequest)
		case *pb.ListHelpRequestsResponse:
			for _, hr := range r.HelpRequests {
				newer(hr)
			}
		case *pb.GetVolunteerResponse:
			r.Volunteer.TravelMode = pb.TravelMode(9)
			r.Volunteer.Vetting.Level = pb.Vetting_DbsLevel(9)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"request", "show", req}, []string{"State          unknown (99)", "Needs          grocery shopping, prescription collection, unknown (99)\n", "Urgency        unknown (9)\n"}},
		{[]string{"request", "list", "--state", "all"}, []string{"unknown (99)  unknown (9)  grocery shopping, prescription collection, unknown (99)"}},
		{[]string{"volunteer", "show", callum}, []string{"Travel        unknown (9), up to 15.0 km\n", "DBS check     unknown (9) until"}},
		{[]string{"offer", "make", req, callum}, []string{"is in a state this doorstep does not know, unknown (99): see doorstep request show"}},
	} {
		r := e.run(tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(r.stdout+r.stderr, w) {
				t.Errorf("doorstep %s: missing %q in\n%s%s", strings.Join(tc.args, " "), w, r.stdout, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "never offered again") {
			t.Errorf("doorstep %s: an unknown state was taken for a closed one: %s", strings.Join(tc.args, " "), r.stderr)
		}
	}
}

// A worker whose doorstep is older than the server changes a volunteer's
// times or DBS check, which are sent whole: what the newer server holds in
// them that this build cannot show (its unknown fields) goes back as it
// came, not wiped by an edit of something else.
func TestNewerServerFieldsKeptThroughEdit(t *testing.T) {
	n := &newerServer{}
	e := newTestEnvNewer(t, n)
	callum, _ := e.addVolunteers()
	n.answer = func(_ string, resp proto.Message) {
		if r, ok := resp.(*pb.GetVolunteerResponse); ok {
			r.Volunteer.Availability.ProtoReflect().SetUnknown(unknownField())
			r.Volunteer.Vetting.ProtoReflect().SetUnknown(unknownField())
		}
	}
	for _, tc := range []struct {
		args []string
		kept func(*pb.Volunteer) proto.Message
	}{
		{[]string{"--available", "weekdays 9-17"}, func(v *pb.Volunteer) proto.Message { return v.GetAvailability() }},
		{[]string{"--away", "none"}, func(v *pb.Volunteer) proto.Message { return v.GetAvailability() }},
		{[]string{"--dbs", "enhanced"}, func(v *pb.Volunteer) proto.Message { return v.GetVetting() }},
		{[]string{"--dbs-expires", "2029-01-31"}, func(v *pb.Volunteer) proto.Message { return v.GetVetting() }},
	} {
		e.ok(append([]string{"volunteer", "edit", callum}, tc.args...)...)
		u, _ := n.sent("/doorstep.v1.VolunteerService/UpdateVolunteer").(*pb.UpdateVolunteerRequest)
		if got := tc.kept(u.GetVolunteer()).ProtoReflect().GetUnknown(); !bytes.Equal(got, unknownField()) {
			t.Errorf("volunteer edit %s sent unknown fields %x, want %x as read", strings.Join(tc.args, " "), got, unknownField())
		}
	}
}

// A worker whose doorstep is older than the server is told that a record
// holds more than it shows: a hold or a need's new detail that this build
// cannot name would otherwise be missing without a sign, and the
// volunteer look free to ask.
func TestNewerServerFieldsNotShownSaid(t *testing.T) {
	n := &newerServer{}
	e := newTestEnvNewer(t, n)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	const note = "what a newer server holds that this doorstep cannot show: upgrade doorstep to see it"
	for _, tc := range []struct {
		args  []string
		newer func(proto.Message)
	}{
		{[]string{"volunteer", "show", callum}, func(m proto.Message) {
			if r, ok := m.(*pb.GetVolunteerResponse); ok {
				r.Volunteer.ProtoReflect().SetUnknown(unknownField())
			}
		}},
		{[]string{"volunteer", "show", callum}, func(m proto.Message) {
			if r, ok := m.(*pb.GetVolunteerResponse); ok {
				r.Volunteer.Availability.Weekly[0].ProtoReflect().SetUnknown(unknownField())
			}
		}},
		{[]string{"request", "show", req}, func(m proto.Message) {
			if r, ok := m.(*pb.GetHelpRequestResponse); ok {
				r.HelpRequest.Location.ProtoReflect().SetUnknown(unknownField())
			}
		}},
		{[]string{"volunteer", "list"}, func(m proto.Message) {
			if r, ok := m.(*pb.ListVolunteersResponse); ok {
				r.Volunteers[1].ProtoReflect().SetUnknown(unknownField())
			}
		}},
		{[]string{"request", "list"}, func(m proto.Message) {
			if r, ok := m.(*pb.ListHelpRequestsResponse); ok {
				r.HelpRequests[0].ProtoReflect().SetUnknown(unknownField())
			}
		}},
	} {
		n.answer = func(_ string, m proto.Message) { tc.newer(m) }
		if out := e.ok(tc.args...); !regexp.MustCompile(`\nNot shown:? +` + note + `\.?\n`).MatchString(out) {
			t.Errorf("doorstep %s: no note of what is not shown:\n%s", strings.Join(tc.args, " "), out)
		}
	}
	n.answer = nil
	for _, args := range [][]string{{"volunteer", "show", callum}, {"request", "show", req}, {"volunteer", "list"}, {"request", "list"}} {
		if out := e.ok(args...); strings.Contains(out, "Not shown") {
			t.Errorf("doorstep %s: a note of what is not shown where all is:\n%s", strings.Join(args, " "), out)
		}
	}
}

// The caller's circumstances are sent whole by request edit: what a newer
// server holds among them that this build cannot name (a circumstance
// added since) is kept, not wiped by a worker who could not see it.
func TestNewerServerCircumstancesKeptThroughEdit(t *testing.T) {
	n := &newerServer{}
	e := newTestEnvNewer(t, n)
	req := e.newRequest("--circumstances", "lives alone")
	n.answer = func(_ string, resp proto.Message) {
		if r, ok := resp.(*pb.GetHelpRequestResponse); ok {
			r.HelpRequest.Vulnerability.ProtoReflect().SetUnknown(unknownField())
		}
	}
	for _, c := range []string{"shielding", "none"} {
		e.ok("request", "edit", req, "--circumstances", c)
		u, _ := n.sent("/doorstep.v1.HelpRequestService/UpdateHelpRequest").(*pb.UpdateHelpRequestRequest)
		if got := u.GetHelpRequest().GetVulnerability().ProtoReflect().GetUnknown(); !bytes.Equal(got, unknownField()) {
			t.Errorf("request edit --circumstances %s sent unknown fields %x, want %x as read", c, got, unknownField())
		}
	}
}
