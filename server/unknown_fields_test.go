package server_test

import (
	"bytes"
	"os"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestUnknownFieldsAreNotKept: a client built from a newer or another API
// may send fields this server does not know. They are dropped on arrival,
// at any depth: kept, they would be stored in the clear, beside the sealed
// personal fields, outside every check, and survive erasure, and they
// would come back to every reader of the record.
func TestUnknownFieldsAreNotKept(t *testing.T) {
	h := newHarness(t)
	const canary = "Canary-Unknown-7c1f"
	in := validHelpRequest()
	// An unknown field on the request, and one inside its requester.
	unknown := protowire.AppendTag(nil, 999, protowire.BytesType)
	unknown = protowire.AppendString(unknown, canary)
	in.ProtoReflect().SetUnknown(unknown)
	in.Requester.ProtoReflect().SetUnknown(unknown)
	in.GetWindow().StartTime.ProtoReflect().SetUnknown(unknown)
	created, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: in})
	if err != nil {
		t.Fatal(err)
	}
	got := h.getHR(created.HelpRequest.Name)
	raw, err := proto.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(canary)) {
		t.Errorf("the stored request comes back with the unknown fields it was sent")
	}
	file, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file, []byte(canary)) {
		t.Errorf("the data file holds an unknown field's contents in the clear")
	}
}
