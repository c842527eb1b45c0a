package client

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/doorstep-aid/doorstep/internal/protorand"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func TestDelayDoublesWithJitterAndCap(t *testing.T) {
	o := options{backoff: 100 * time.Millisecond}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000} {
		want *= time.Millisecond
		var lo, hi time.Duration = want, 0
		for range 200 {
			d := o.delay(attempt)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < want/2 || hi > want {
			t.Errorf("attempt %d: delays from %v to %v, want within [%v, %v]", attempt, lo, hi, want/2, want)
		}
		if lo == hi {
			t.Errorf("attempt %d: every delay was %v: no jitter", attempt, lo)
		}
	}
	if d := (options{}).delay(0); d < defaultBackoff/2 || d > defaultBackoff {
		t.Errorf("with no base set, first delay %v, want about %v", d, defaultBackoff)
	}
}

func TestSleepStopsForContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if sleep(ctx, time.Minute) {
		t.Error("sleep reported a full wait after cancel")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("sleep took %v after cancel", took)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start = time.Now()
	if sleep(ctx, time.Minute) || time.Since(start) > 100*time.Millisecond {
		t.Error("sleep past the deadline did not return at once")
	}
	if !sleep(context.Background(), time.Millisecond) {
		t.Error("a short sleep did not complete")
	}
}

// TestWithRequestIDKeepsEveryField: the copy that gains a request_id keeps
// every other field of every create, whatever fields the API has; the
// caller's message is left as it was, and one with its own request_id is
// sent as it is.
func TestWithRequestIDKeepsEveryField(t *testing.T) {
	f := protorand.Filler{Rng: rand.New(rand.NewPCG(1, 2)), Depth: 3}
	creates := map[string]proto.Message{
		pb.HelpRequestService_CreateHelpRequest_FullMethodName: &pb.CreateHelpRequestRequest{},
		pb.VolunteerService_CreateVolunteer_FullMethodName:     &pb.CreateVolunteerRequest{},
		pb.MatchingService_CreateOffer_FullMethodName:          &pb.CreateOfferRequest{},
	}
	if len(creates) != len(createMethods) {
		t.Fatalf("%d creates tested, %d given request_ids", len(creates), len(createMethods))
	}
	for method, m := range creates {
		for range 20 {
			orig := m.ProtoReflect().New().Interface()
			f.Fill(orig.ProtoReflect())
			ridField := orig.ProtoReflect().Descriptor().Fields().ByName("request_id")
			orig.ProtoReflect().Clear(ridField)
			kept := proto.Clone(orig)

			got, ok := withRequestID(method, orig).(proto.Message)
			if !ok || got == orig {
				t.Fatalf("%s: not a copy", method)
			}
			if !proto.Equal(orig, kept) {
				t.Fatalf("%s: the caller's message changed", method)
			}
			if id := got.ProtoReflect().Get(ridField).String(); len(id) != 36 {
				t.Fatalf("%s: request_id %q", method, id)
			}
			got.ProtoReflect().Clear(ridField)
			if !proto.Equal(got, orig) {
				t.Fatalf("%s: the copy lost a field:\n got %v\nwant %v", method, got, orig)
			}

			orig.ProtoReflect().Set(ridField, protoreflect.ValueOfString("6f1c1a52-3f0e-4c41-9c55-0b5f1c1e2a10"))
			if withRequestID(method, orig) != any(orig) {
				t.Fatalf("%s: a message with its own request_id was replaced", method)
			}
		}
	}
}
