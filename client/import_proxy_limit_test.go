package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// bodyLimit is a proxy's limit on a request's body, as nginx's
// client_max_body_size (1m unless set) is: a larger body is answered
// HTTP 413 with a page of HTML, and never reaches the server.
type bodyLimit struct {
	limit   int64
	next    http.Handler
	refused atomic.Int64
	largest atomic.Int64 // the largest body passed on
}

func (b *bodyLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, b.limit+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if int64(len(body)) > b.limit {
		b.refused.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n</html>\r\n")
		return
	}
	if n := int64(len(body)); n > b.largest.Load() {
		b.largest.Store(n)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	b.next.ServeHTTP(w, r)
}

// serve puts b on loopback until the test ends, speaking HTTP/2 without
// TLS as a client given WithInsecure does, and returns its address.
func (b *bodyLimit) serve(t *testing.T) string {
	t.Helper()
	hs := &http.Server{Handler: b, Protocols: new(http.Protocols)}
	hs.Protocols.SetUnencryptedHTTP2(true)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(lis) }()
	t.Cleanup(func() { _ = hs.Close() })
	return lis.Addr().String()
}

// A partner told the server takes 8 MiB (WithMaxRequestBytes, for a
// server with --max-recv-bytes raised) whose calls pass through nginx at
// its default 1m limit sends batches the proxy refuses with HTTP 413:
// the import sends them again in halves, as it does those the server
// refuses, rather than ending with "The server failed" and nginx's page.
func TestImportThroughProxyBodyLimit(t *testing.T) {
	s := newTestServer(t)
	lim := &bodyLimit{limit: 1 << 20, next: s.g}
	c, err := client.Dial(context.Background(), lim.serve(t), client.WithInsecure(), client.WithToken(s.token), client.WithMaxRequestBytes(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// 2.2 KB a row, as a partner's delivery notes make them: a batch of
	// client.MaxImportBatch rows is over 1 MiB.
	rows := make([]*pb.HelpRequest, 600)
	for i := range rows {
		rows[i] = helpRequest("aberdeen-mutual-aid", fmt.Sprintf("TFB-%04d", i))
		rows[i].Details = strings.Repeat("Milk, bread, tea. ", 110)
		rows[i].Location.AddressLines = []string{strings.Repeat("Flat ", 19), strings.Repeat("Court ", 16)}
	}
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatalf("import through a proxy with a 1 MiB limit: %v", err)
	}
	if len(results) != len(rows) {
		t.Fatalf("%d results for %d rows", len(results), len(rows))
	}
	for _, r := range results {
		if r.GetError() != nil {
			t.Errorf("row %d: %v", r.GetIndex(), r.GetError())
		}
	}
	if lim.refused.Load() == 0 {
		t.Error("the proxy refused no batch: the rows were too small to test its limit")
	}
}

// A row over a proxy's limit alone fails ROW_TOO_LARGE, as one over the
// server's does; its message must send whoever reads it to the proxy, not
// to the server's --max-recv-bytes, which is already what the client was
// told (the partner's support would raise it and see nothing change).
func TestImportRowOverProxyBodyLimit(t *testing.T) {
	s := newTestServer(t)
	lim := &bodyLimit{limit: 64 << 10, next: s.g}
	c, err := client.Dial(context.Background(), lim.serve(t), client.WithInsecure(), client.WithToken(s.token))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	rows := []*pb.HelpRequest{helpRequest("aberdeen-mutual-aid", "TFB-0001"), helpRequest("aberdeen-mutual-aid", "TFB-0002")}
	rows[1].Details = strings.Repeat("Milk, bread, tea. ", 4000) // 72 KB: over the proxy's 64 KiB, under the server's 1 MiB
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	if e := results[0].GetError(); e != nil {
		t.Errorf("row 0: %v", e)
	}
	e := results[1].GetError()
	if e.GetReason() != client.ReasonRowTooLarge || !strings.Contains(e.GetMessage(), "proxy") || strings.Contains(e.GetMessage(), "WithMaxRequestBytes") {
		t.Errorf("row 1, alone over the proxy's limit: %q (%s), want %s naming the proxy's limit, not the server's", e.GetMessage(), e.GetReason(), client.ReasonRowTooLarge)
	}
}
