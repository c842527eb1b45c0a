package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditBesideALegacyLineSeparator: a record stored before line
// separators were refused in one-line fields, its name holding one. An
// edit of something else (the details, a volunteer pausing) is not the
// place to refuse it: the separator is stored as a space.
func TestEditBesideALegacyLineSeparator(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	legacyRequest(t, h, hr.Name, func(stored *pb.HelpRequest) {
		stored.Requester.DisplayName = "Margaret\u2028Ironside"
	})
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk only"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}})
	if err != nil {
		t.Errorf("details edit: %v", err)
	} else if got := h.getHR(hr.Name).GetRequester().GetDisplayName(); got != "Margaret Ironside" {
		t.Errorf("name after the edit: %q", got)
	}

	v := h.createVol(validVolunteer())
	legacyVolunteer(t, h, v.Name, func(sv *pb.Volunteer) {
		sv.Contact.DisplayName = "Callum\u2028Reid"
	})
	_, err = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: v.Name, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
	if err != nil {
		t.Errorf("pause: %v", err)
	} else if got := h.getVol(v.Name); !got.Paused || got.GetContact().GetDisplayName() != "Callum Reid" {
		t.Errorf("after the pause: paused %v, name %q", got.Paused, got.GetContact().GetDisplayName())
	}
}

// TestPhoneWithInvisibleFormatting: a number copied from an address book
// or a mail on Windows comes wrapped in an embedding ("\u202a07700
// 900123\u202c"), or from a spreadsheet with a zero-width space or a byte
// order mark, or from a chat after a direction mark; it reads as the
// number it is, and is taken as one, by a
// create and by a search by phone.
func TestPhoneWithInvisibleFormatting(t *testing.T) {
	for _, in := range []string{"\u202a01224 123456\u202c", "\ufeff01224\u200b 123456", "\u2066+44 1224 123456\u2069", "\u200e+44 1224 123456"} {
		if got, err := phone.Normalise(in); err != nil || got != "+441224123456" {
			t.Errorf("phone.Normalise(%q) = %q, %v", in, got, err)
		}
	}
	h := newHarness(t)
	hr := validHelpRequest()
	hr.Requester.Phone = "\u202a01224 123456\u202c"
	created := h.createHR(hr)
	resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{RequesterPhone: "\u202a01224 123456\u202c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.HelpRequests) != 1 || resp.HelpRequests[0].Name != created.Name {
		t.Errorf("found %v, want %s", resp.HelpRequests, created.Name)
	}
}

// TestEditBesideALegacyInvisibleName: a record stored before a name of
// nothing but direction marks was refused. An edit of something else is
// not refused over it; one of the name is.
func TestEditBesideALegacyInvisibleName(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	legacyRequest(t, h, hr.Name, func(stored *pb.HelpRequest) {
		stored.Requester.DisplayName = "\u200e"
	})
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk only"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}}); err != nil {
		t.Errorf("details edit: %v", err)
	}

	v := h.createVol(validVolunteer())
	legacyVolunteer(t, h, v.Name, func(sv *pb.Volunteer) {
		sv.Contact.DisplayName = "\u200f"
	})
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: v.Name, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}}); err != nil {
		t.Errorf("pause: %v", err)
	}
}

// TestWholeRecordBesideALegacyInvisibleName: an app that edits by sending
// back the whole record it read (no mask, "*", or the contact named
// whole) sends a name of nothing but direction marks, stored before such
// a name was refused, back as it was: an edit of something else is not
// refused over it, as a window sent back as read is no new time. A name
// the call changes to one is refused.
func TestWholeRecordBesideALegacyInvisibleName(t *testing.T) {
	h := newHarness(t)
	in := validHelpRequest()
	in.Needs = append(in.Needs, pb.Need_NEED_OTHER)
	hr := h.createHR(in)
	legacyRequest(t, h, hr.Name, func(stored *pb.HelpRequest) {
		stored.Requester.DisplayName = "\u200e"
		stored.Details = "\u200f"
	})
	for _, mask := range [][]string{nil, {"*"}, {"requester", "details", "urgency"}} {
		read := h.getHR(hr.Name)
		read.Urgency = pb.Urgency_URGENCY_HIGH
		read.Etag = ""
		if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
			HelpRequest: read, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}}); err != nil {
			t.Errorf("urgency edit, mask %q, the name and details sent back as read: %v", mask, err)
		}
	}
	read := h.getHR(hr.Name)
	read.Requester.DisplayName = "\u200f"
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: read}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a name changed to another of nothing to read: %v, want InvalidArgument", err)
	}

	v := h.createVol(validVolunteer())
	legacyVolunteer(t, h, v.Name, func(sv *pb.Volunteer) {
		sv.Contact.DisplayName = "\u200f"
	})
	for _, mask := range [][]string{nil, {"*"}, {"contact", "capacity"}} {
		read := h.getVol(v.Name)
		read.Capacity++
		read.Etag = ""
		if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer: read, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}}); err != nil {
			t.Errorf("capacity edit, mask %q, the name sent back as read: %v", mask, err)
		}
	}
	rv := h.getVol(v.Name)
	rv.Contact.DisplayName = "\u200e\u200e"
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: rv}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a name changed to another of nothing to read: %v, want InvalidArgument", err)
	}
}

// legacyRequest changes the request named in the store directly, as a
// record stored before a check of the server's existed.
func legacyRequest(t *testing.T, h *harness, name string, change func(*pb.HelpRequest)) {
	t.Helper()
	stored, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(name, "helpRequests/"))
	if err != nil {
		t.Fatal(err)
	}
	change(stored)
	if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
		t.Fatal(err)
	}
}

// legacyVolunteer is legacyRequest for a volunteer.
func legacyVolunteer(t *testing.T, h *harness, name string, change func(*pb.Volunteer)) {
	t.Helper()
	sv, err := h.st.GetVolunteer(h.ctx, strings.TrimPrefix(name, "volunteers/"))
	if err != nil {
		t.Fatal(err)
	}
	change(sv)
	if _, err := h.st.UpdateVolunteer(h.ctx, sv); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyInvisibleNameSentBackReformatted: a name or details of nothing
// to read, stored before such were refused, sent back by an app that
// edits by the whole record as its form or its platform gives text back:
// with a trailing space, a browser textarea's "\r\n" for a newline, or its
// marks in canonical order (NFC or NFD). That is the stored text, not a
// new one: the edit of something else is not refused over it.
func TestLegacyInvisibleNameSentBackReformatted(t *testing.T) {
	for _, c := range []struct {
		what                       string
		storedName, sentName       string
		storedDetails, sentDetails string
		storedVolName, sentVolName string
	}{
		{"trailing space", "\u200e", "\u200e ", "\u200f", "\u200f ", "\u200f", " \u200f"},
		{"textarea line break", "\u200e", "\u200e", "\u200f\n\u200f", "\u200f\r\n\u200f", "\u200f", "\u200f"},
		{"canonical order", "\u0301\u0316", "\u0316\u0301", "\u0344", "\u0308\u0301", "\u0301\u0316", "\u0316\u0301"},
	} {
		t.Run(c.what, func(t *testing.T) {
			h := newHarness(t)
			in := validHelpRequest()
			in.Needs = append(in.Needs, pb.Need_NEED_OTHER)
			hr := h.createHR(in)
			legacyRequest(t, h, hr.Name, func(stored *pb.HelpRequest) {
				stored.Requester.DisplayName = c.storedName
				stored.Details = c.storedDetails
			})
			for _, mask := range [][]string{nil, {"*"}, {"requester", "details", "urgency"}} {
				read := h.getHR(hr.Name)
				read.Urgency = pb.Urgency_URGENCY_HIGH
				read.Requester.DisplayName = c.sentName
				read.Details = c.sentDetails
				read.Etag = ""
				if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
					HelpRequest: read, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}}); err != nil {
					t.Errorf("urgency edit, mask %q: %v", mask, err)
				}
				legacyRequest(t, h, hr.Name, func(stored *pb.HelpRequest) {
					stored.Requester.DisplayName = c.storedName
					stored.Details = c.storedDetails
				})
			}

			v := h.createVol(validVolunteer())
			legacyVolunteer(t, h, v.Name, func(sv *pb.Volunteer) {
				sv.Contact.DisplayName = c.storedVolName
			})
			for _, mask := range [][]string{nil, {"*"}, {"contact", "capacity"}} {
				read := h.getVol(v.Name)
				read.Capacity++
				read.Contact.DisplayName = c.sentVolName
				read.Etag = ""
				if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
					Volunteer: read, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}}); err != nil {
					t.Errorf("capacity edit, mask %q: %v", mask, err)
				}
				legacyVolunteer(t, h, v.Name, func(sv *pb.Volunteer) {
					sv.Contact.DisplayName = c.storedVolName
				})
			}
		})
	}
}
