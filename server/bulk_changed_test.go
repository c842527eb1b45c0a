package server_test

import (
	"slices"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestBatchRowChangedSinceStored: a partner's nightly file sends
// yesterday's rows again, some changed at source since (a client's new
// phone number, another need, a later delivery). Each such row came back
// "existing" with nothing said, the change not applied, and the partner
// believing Doorstep held what its file said while volunteers rang the
// old number. Such a row says which of its fields differ from what is
// stored; a row written differently but meaning the same (a phone number
// in international form, needs in another order, a postcode in capitals)
// says nothing; and a row whose stored request's personal data was
// erased is not said to differ for the data now missing.
func TestBatchRowChangedSinceStored(t *testing.T) {
	h := newHarness(t)
	deadline := ts(30 * time.Hour)
	window := &pb.TimeWindow{StartTime: ts(time.Hour), EndTime: ts(5 * time.Hour)}
	row := func(ext string) *pb.HelpRequest {
		hr := bulkRow(ext)
		hr.Timing = &pb.HelpRequest_Window{Window: window}
		hr.Requester.Phone = "01224 " + map[string]string{"same": "100001", "respelt": "100002", "changed": "100003", "erased": "100004"}[ext]
		return hr
	}
	exts := []string{"same", "respelt", "changed", "erased"}
	var first []*pb.HelpRequest
	for _, ext := range exts {
		first = append(first, row(ext))
	}
	// The respelt row's text composed one night, decomposed the next (an
	// export from another platform): the same text.
	first[1].Requester.DisplayName = "Zo\u00eb Brodie"
	first[1].Details = "Caf\u00e9 run"
	first[1].Location.AddressLines = []string{"Flat 2, Ch\u00e2teau House"}
	if _, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewAdminServiceClient(h.conn).ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "01224 100004"}); err != nil {
		t.Fatal(err)
	}

	var again []*pb.HelpRequest
	for _, ext := range exts {
		again = append(again, row(ext))
	}
	again[1].Requester.Phone = "+44 1224 100002"
	again[1].Location.Postcode = "AB10 1AB"
	again[1].Needs = []pb.Need{pb.Need_NEED_FOOD_PARCEL}
	again[1].RequiredSkills = nil
	again[1].Urgency = pb.Urgency_URGENCY_NORMAL
	again[1].Requester.DisplayName = "Zoe\u0308 Brodie"
	again[1].Details = "Cafe\u0301 run"
	again[1].Location.AddressLines = []string{"Flat 2, Cha\u0302teau House"}
	again[2].Requester.Phone = "07700 900999"
	again[2].Needs = []pb.Need{pb.Need_NEED_HOT_MEAL}
	again[2].Timing = &pb.HelpRequest_Deadline{Deadline: deadline}
	again[3].Requester.Phone = "07700 900888"
	again[3].Details = "New details"
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: again})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{nil, nil, {"needs", "deadline", "requester.phone"}, nil} {
		r := resp.Results[i]
		if r.GetError() != nil || !r.GetExisting() {
			t.Errorf("row %s: %v, want existing", exts[i], r)
		}
		if !slices.Equal(r.GetDifferingFields(), want) {
			t.Errorf("row %s: differing fields %q, want %q", exts[i], r.GetDifferingFields(), want)
		}
	}
	if got := resp.Results[2].GetHelpRequest().GetRequester().GetPhone(); got != "+441224100003" {
		t.Errorf("the changed row's stored phone is %s: the row was applied", got)
	}
}
