// Command doorstep is the helpline and operations client for a Doorstep
// server. It is made for a helpline worker with a caller on the line: it
// asks for what it needs, says plainly what is wrong, and accepts answers
// the way people give them ("tomorrow 10-12", "07700 900123", "ab101ab").
//
// Commands:
//
//	doorstep request new          take a request (asks for each detail on a terminal; flags for scripts)
//	doorstep request find         a caller's earlier requests, by phone number
//	doorstep request show ID      one request with its state, offer and volunteer
//	doorstep request list         requests still in hand (or in a state), by urgency or near a postcode
//	doorstep request edit ID      change a request's details: only those given
//	doorstep request candidates   who could help, best first, and why nobody else
//	doorstep request cancel ID    withdraw a request
//	doorstep request fulfil ID    mark an assigned request as done
//	doorstep request release ID   the volunteer cannot go: open it again for someone else
//	doorstep offer make REQ VOL   hold a request for one volunteer
//	doorstep offer accept OFFER   the volunteer said yes
//	doorstep offer decline OFFER  the volunteer said no
//	doorstep offer list           a volunteer's or a request's offers, or all pending ones
//	doorstep dispatch             offer every open request to a volunteer now (admin or coordinator token)
//	doorstep volunteer find       the volunteer who rang, by phone number
//	doorstep volunteer add|show|edit|pause|resume|hold|unhold|list
//	doorstep import FILE          bulk intake from CSV or JSON Lines, by external id
//	doorstep watch                the live event stream
//	doorstep admin token create|list|revoke   bearer tokens (admin token needed for all admin commands)
//	doorstep admin org create|list            organisations, for partner tokens
//	doorstep admin audit          who read or changed personal data
//	doorstep admin export|erase   a person's data rights requests, by phone number
//	doorstep admin backup         have the server back up its data file, while it runs
//	doorstep help [COMMAND]       usage with examples
//
// The server is DOORSTEP_ADDR (or --addr; default localhost:50051, as
// doorstepd), the token DOORSTEP_TOKEN (or --token). --linear (or
// DOORSTEP_LINEAR=1) prints each value after its label, one to a line,
// instead of tables, for screen readers and narrow windows. Exit codes: 0 done,
// 1 the server refused, a row failed or an erasure's last step failed,
// 2 bad input or usage, 3 not found,
// 4 cannot reach the server, 5 not allowed (token), 130 interrupted.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
