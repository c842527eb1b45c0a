package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A food bank sends its delivery list every morning. Its own record ids
// become external_id, so sending the same list twice, or again after a
// failure part way, creates nothing new.
func ExampleClient_ImportHelpRequests() {
	ctx := context.Background()
	// The server's address, and a file holding the token's secret (its
	// line end is dropped), as whoever runs the job gives them.
	addr, tokenFile := os.Getenv("DOORSTEP_ADDR"), os.Getenv("DOORSTEP_TOKEN_FILE")
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		log.Fatalf("read the token named by DOORSTEP_TOKEN_FILE: %v", err)
	}
	// This server is on loopback; across a network it is
	// client.WithTLS(&tls.Config{}) in place of client.WithInsecure().
	c, err := client.Dial(ctx, addr, client.WithInsecure(), client.WithToken(string(token)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	records := []struct{ id, name, phone, postcode string }{
		{"TFB-0001", "Margaret", "01224 123456", "AB10 1AB"},
		{"TFB-0002", "Ian", "01224 654321", "AB10 1AF"},
		{"TFB-0003", "Elspeth", "01224 111222", "AB10 9ZZ"}, // mistyped
	}
	deliverBy := timestamppb.New(time.Now().Add(48 * time.Hour))
	var rows []*pb.HelpRequest
	for _, r := range records {
		rows = append(rows, &pb.HelpRequest{
			Needs:        []pb.Need{pb.Need_NEED_FOOD_PARCEL},
			Timing:       &pb.HelpRequest_Deadline{Deadline: deliverBy},
			Location:     &pb.Location{Postcode: r.postcode},
			Requester:    &pb.Contact{DisplayName: r.name, Phone: r.phone},
			Organisation: "torry-food-bank",
			ExternalId:   r.id,
		})
	}

	for run := 1; run <= 2; run++ {
		results, err := c.ImportHelpRequests(ctx, rows)
		if err != nil {
			// The results of the batches before the failure are in
			// results; running the whole import again finishes it.
			log.Fatal(client.Describe(err))
		}
		created, existing := 0, 0
		for _, r := range results {
			switch {
			case r.Error != nil:
				fmt.Printf("%s: %s\n", rows[r.Index].ExternalId, client.DescribeRow(r.Error))
			case r.Existing:
				existing++
			default:
				created++
			}
		}
		fmt.Printf("run %d: %d created, %d already there\n", run, created, existing)
	}
	// Output:
	// TFB-0003: Some fields are wrong: location.postcode: postcode AB10 9ZZ is not in the gazetteer: give lat_lng as well, or check the postcode (UNKNOWN_POSTCODE).
	// run 1: 2 created, 0 already there
	// TFB-0003: Some fields are wrong: location.postcode: postcode AB10 9ZZ is not in the gazetteer: give lat_lng as well, or check the postcode (UNKNOWN_POSTCODE).
	// run 2: 0 created, 2 already there
}

// A coordinator app keeps a live view of one organisation's requests. It
// remembers the revision of the last response it handled, so that after a
// restart of the app it carries on from there; Watch does the same by
// itself across dropped connections and server restarts.
func ExampleClient_Watch() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The server's address, and a file holding the token's secret (its
	// line end is dropped), as whoever runs the job gives them.
	addr, tokenFile := os.Getenv("DOORSTEP_ADDR"), os.Getenv("DOORSTEP_TOKEN_FILE")
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		log.Fatalf("read the token named by DOORSTEP_TOKEN_FILE: %v", err)
	}
	// This server is on loopback; across a network it is
	// client.WithTLS(&tls.Config{}) in place of client.WithInsecure().
	c, err := client.Dial(ctx, addr, client.WithInsecure(), client.WithToken(string(token)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var resume int64 // saved by the app; 0 the first time: start from now
	errEnough := errors.New("seen enough for this example")
	seen := 0
	err = c.Watch(ctx, client.WatchOptions{
		StartRevision: resume,
		Organisation:  "aberdeen-mutual-aid",
		Types:         []pb.Event_Type{pb.Event_TYPE_HELP_REQUEST_CREATED, pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED},
	}, func(resp *pb.WatchEventsResponse) error {
		if resume == 0 {
			// The first response: the watch is live. Here a helpline
			// worker now takes a call, and the caller then cancels.
			go func() {
				hr, err := c.CreateHelpRequest(ctx, &pb.HelpRequest{
					Needs:        []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION},
					Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(24 * time.Hour))},
					Location:     &pb.Location{Postcode: "ab10 1ab"},
					Requester:    &pb.Contact{DisplayName: "Margaret", Phone: "01224 123456"},
					Organisation: "aberdeen-mutual-aid",
				})
				if err != nil {
					log.Print(client.Describe(err))
					return
				}
				if _, err := c.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: hr.Name}); err != nil {
					log.Print(client.Describe(err))
				}
			}()
		}
		for _, ev := range resp.Events {
			// Events carry no personal data: read the record for that.
			hr, err := c.GetHelpRequest(ctx, ev.HelpRequest)
			if status.Code(err) == codes.NotFound {
				// Deleted or erased since the event. Returning the error
				// would stop the watch here, and again at every restart,
				// as the event is told again from the saved revision.
				continue
			}
			if err != nil {
				return err
			}
			fmt.Println(ev.Type, hr.Location.Postcode, hr.Needs, ev.State)
			seen++
		}
		resume = resp.Revision + 1 // the app would save this
		if seen == 2 {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		log.Fatal(client.Describe(err))
	}
	// Output:
	// TYPE_HELP_REQUEST_CREATED AB10 1AB [NEED_PRESCRIPTION_COLLECTION] STATE_OPEN
	// TYPE_HELP_REQUEST_STATE_CHANGED AB10 1AB [NEED_PRESCRIPTION_COLLECTION] STATE_CANCELLED
}

// Describe gives helpline staff one sentence they can act on.
func ExampleDescribe() {
	ctx := context.Background()
	// The server's address, and a file holding the token's secret (its
	// line end is dropped), as whoever runs the job gives them.
	addr, tokenFile := os.Getenv("DOORSTEP_ADDR"), os.Getenv("DOORSTEP_TOKEN_FILE")
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		log.Fatalf("read the token named by DOORSTEP_TOKEN_FILE: %v", err)
	}
	// This server is on loopback; across a network it is
	// client.WithTLS(&tls.Config{}) in place of client.WithInsecure().
	c, err := client.Dial(ctx, addr, client.WithInsecure(), client.WithToken(string(token)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.GetHelpRequest(ctx, "helpRequests/01j0000000000000000000000a")
	fmt.Println(client.Describe(err))
	// Output:
	// Not found: helpRequests/01j0000000000000000000000a does not exist (HELP_REQUEST_NOT_FOUND).
}

// A partner's program branches on the stable reason, not on the message,
// which may be reworded. Here a request the food bank sent before is sent
// again under its own id, and the program goes on with the one stored.
func ExampleReason() {
	ctx := context.Background()
	// The server's address, and a file holding the token's secret (its
	// line end is dropped), as whoever runs the job gives them.
	addr, tokenFile := os.Getenv("DOORSTEP_ADDR"), os.Getenv("DOORSTEP_TOKEN_FILE")
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		log.Fatalf("read the token named by DOORSTEP_TOKEN_FILE: %v", err)
	}
	// This server is on loopback; across a network it is
	// client.WithTLS(&tls.Config{}) in place of client.WithInsecure().
	c, err := client.Dial(ctx, addr, client.WithInsecure(), client.WithToken(string(token)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	hr := &pb.HelpRequest{
		Needs:        []pb.Need{pb.Need_NEED_FOOD_PARCEL},
		Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(48 * time.Hour))},
		Location:     &pb.Location{Postcode: "AB10 1AB"},
		Requester:    &pb.Contact{DisplayName: "Margaret", Phone: "01224 123456"},
		Organisation: "kincorth-pantry",
		ExternalId:   "KP-0042",
	}
	for range 2 {
		stored, err := c.CreateHelpRequest(ctx, hr)
		switch {
		case err == nil:
			fmt.Println("stored", stored.ExternalId)
		case client.Reason(err) == "EXTERNAL_ID_EXISTS":
			// The request in the way is named in the error's metadata.
			stored, err = c.GetHelpRequest(ctx, client.Metadata(err, "resource"))
			if err != nil {
				log.Fatal(client.Describe(err))
			}
			fmt.Println("already there:", stored.ExternalId, stored.State)
		case status.Code(err) == codes.InvalidArgument:
			fmt.Println("to correct:", client.Describe(err))
		default:
			log.Fatal(client.Describe(err))
		}
	}
	// Output:
	// stored KP-0042
	// already there: KP-0042 STATE_OPEN
}
