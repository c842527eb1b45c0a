package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// dirtyName and dirtyStreet hold bidirectional overrides, embeddings and
// isolates (which turn what follows them backwards, such as the phone
// number printed after a name), zero-width characters and a byte order
// mark (a spreadsheet's, at the start of a cell).
const (
	dirtyName   = "\ufeffMar\u200bgaret\u202e Iron\u2066side\u2069\u2060"
	cleanName   = "Margaret Ironside"
	dirtyStreet = "Union\u200b St\u202e"
	dirtyLine   = "Flat\u2067 2"
)

// TestTextDropsInvisibleFormatting sends such text in every field a
// person reads, by every call that takes it: it is dropped, as spaces at
// the ends are, so that what is stored reads, and compares, as what a
// person sees.
func TestTextDropsInvisibleFormatting(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	want := func(t *testing.T, what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s stored as %q, want %q", what, got, want)
		}
	}
	dirtyRequest := func(hr *pb.HelpRequest) *pb.HelpRequest {
		hr.Requester.DisplayName = dirtyName
		hr.Details = "Milk\u200b and bread\u202d"
		hr.Location.Street = dirtyStreet
		hr.Location.AddressLines = []string{dirtyLine}
		return hr
	}
	checkRequest := func(t *testing.T, name string) {
		t.Helper()
		got := h.getHR(name)
		want(t, "requester.display_name", got.GetRequester().GetDisplayName(), cleanName)
		want(t, "details", got.Details, "Milk and bread")
		want(t, "location.street", got.GetLocation().GetStreet(), "Union Street")
		if l := got.GetLocation().GetAddressLines(); len(l) != 1 || l[0] != "Flat 2" {
			t.Errorf("location.address_lines stored as %q, want [Flat 2]", l)
		}
	}

	t.Run("create request", func(t *testing.T) {
		checkRequest(t, h.createHR(dirtyRequest(validHelpRequest())).Name)
	})
	t.Run("import", func(t *testing.T) {
		resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{
			HelpRequests: []*pb.HelpRequest{dirtyRequest(bulkRow("fb-1"))}})
		if err != nil || resp.Results[0].Error != nil {
			t.Fatalf("import: %v %v", err, resp.GetResults())
		}
		checkRequest(t, resp.Results[0].HelpRequest.Name)
	})
	t.Run("update request", func(t *testing.T) {
		hr := h.createHR(validHelpRequest())
		in := dirtyRequest(&pb.HelpRequest{Name: hr.Name, Requester: &pb.Contact{Phone: "01224 123456"}, Location: &pb.Location{Postcode: "AB10 1AB"}})
		if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: in,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester", "details", "location"}}}); err != nil {
			t.Fatal(err)
		}
		checkRequest(t, hr.Name)
	})
	t.Run("volunteer", func(t *testing.T) {
		v := validVolunteer()
		v.Contact.DisplayName = dirtyName
		v.Home.Street = dirtyStreet
		v.Home.AddressLines = []string{dirtyLine}
		got := h.getVol(h.createVol(v).Name)
		want(t, "contact.display_name", got.GetContact().GetDisplayName(), cleanName)
		want(t, "home.street", got.GetHome().GetStreet(), "Union Street")
		upd, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: got.Name, Contact: &pb.Contact{DisplayName: "\u202eCallum Reid", Phone: "07700 900123"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want(t, "updated contact.display_name", h.getVol(upd.Volunteer.Name).GetContact().GetDisplayName(), "Callum Reid")
	})
	t.Run("token and organisation", func(t *testing.T) {
		tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "Desk\u202e 3\u200b", Role: pb.Role_ROLE_HELPLINE}})
		if err != nil {
			t.Fatal(err)
		}
		want(t, "token.display_name", tok.Token.DisplayName, "Desk 3")
		org, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
			Name: "organisations/granite-foodbank", DisplayName: "\u2067Granite Food Bank\u2069"}})
		if err != nil {
			t.Fatal(err)
		}
		want(t, "organisation.display_name", org.Organisation.DisplayName, "Granite Food Bank")
	})
	t.Run("nothing but invisible", func(t *testing.T) {
		hr := validHelpRequest()
		hr.Requester.DisplayName = "\u200b\u202e"
		_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.requester.display_name" {
			t.Errorf("a name of invisible characters alone: %v", err)
		}
	})
}

// TestLineBreaks: a line or paragraph separator in a field of one line
// would show as a second line (a forged "Phone:" under a name) where the
// text is shown by a program that breaks lines there; it is refused,
// naming the field, as a newline is. In the details, which keep their
// lines, a carriage return (alone, which overwrites the line before on a
// terminal, or before a newline, as Windows writes) and those separators
// are stored as the newline every reader breaks on.
func TestLineBreaks(t *testing.T) {
	h := newHarness(t)
	forged := "Ann Smith\u2028Phone: 07700 900999"
	tests := []struct {
		name  string
		edit  func(hr *pb.HelpRequest)
		field string
	}{
		{"name", func(hr *pb.HelpRequest) { hr.Requester.DisplayName = forged }, "help_request.requester.display_name"},
		{"name, paragraph", func(hr *pb.HelpRequest) { hr.Requester.DisplayName = "Ann Smith\u2029Phone" }, "help_request.requester.display_name"},
		{"street", func(hr *pb.HelpRequest) { hr.Location.Street = "Union Street\u2028Flat 9" }, "help_request.location.street"},
		{"address line", func(hr *pb.HelpRequest) { hr.Location.AddressLines = []string{forged} }, "help_request.location.address_lines[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := validHelpRequest()
			tt.edit(hr)
			_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
			if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != tt.field {
				t.Errorf("got %v, want InvalidArgument naming %s", err, tt.field)
			}
		})
	}
	t.Run("details", func(t *testing.T) {
		hr := validHelpRequest()
		hr.Details = "Ring twice\r\nKey under the mat\rDog is friendly\u2028Thanks\u2029Ann\n\tLeave at door"
		got := h.getHR(h.createHR(hr).Name)
		if want := "Ring twice\nKey under the mat\nDog is friendly\nThanks\nAnn\n\tLeave at door"; got.Details != want {
			t.Errorf("details stored as %q, want %q", got.Details, want)
		}
	})
}
