package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/httpapi"
	"github.com/belfryhq/belfry/keyring"
)

// The transport benchmarks drive the real handler (routing, body read,
// SigV4 through the keyring with the root key, decode, validation, the
// call, JSON encoding, metrics) with a service that answers at once, so
// that what they measure is the transport's own cost per request. The
// requests are what net/http's server hands a handler: parsed from the
// bytes an AWS SDK for Go v2 client sends.

const (
	benchRootID     = "AKIDBENCHROOT0000000"
	benchRootSecret = "bench/secret+key0000000000000000000000000"
	benchUser       = "arn:aws:chime:us-east-1:111122223333:app-instance/0f3a8e2c-1b7d-4c55-9a51-3c1f0e9d2a77/user/sender-17"
	benchChannel    = "arn:aws:chime:us-east-1:111122223333:app-instance/0f3a8e2c-1b7d-4c55-9a51-3c1f0e9d2a77/channel/7d3c1f0e-9d2a-4c55-9a51-0f3a8e2c1b7d"
)

// quickAPI answers the three benchmarked operations with responses of the
// real shape and size.
type quickAPI struct {
	chime.Unimplemented
	page []chime.ChannelMessageSummary
}

func strp(s string) *string { return &s }

func (q *quickAPI) SendChannelMessage(_ context.Context, in *chime.SendChannelMessageRequest) (*chime.SendChannelMessageResponse, error) {
	return &chime.SendChannelMessageResponse{
		ChannelArn: in.ChannelArn,
		MessageId:  strp("b1e0a3c6d2f94e0f8a1c5b7d9e2f4a6c"),
		Status:     &chime.ChannelMessageStatusStructure{Value: chime.ChannelMessageStatusSent},
	}, nil
}

func (q *quickAPI) ListChannelMessages(_ context.Context, in *chime.ListChannelMessagesRequest) (*chime.ListChannelMessagesResponse, error) {
	return &chime.ListChannelMessagesResponse{ChannelArn: in.ChannelArn, ChannelMessages: q.page, NextToken: strp("eyJzIjoxMjM0NTYsInQiOjE3MDAwMDAwMDB9")}, nil
}

func (q *quickAPI) DescribeChannel(_ context.Context, in *chime.DescribeChannelRequest) (*chime.DescribeChannelResponse, error) {
	at := chime.NewTime(time.Unix(1764640000, 123e6))
	return &chime.DescribeChannelResponse{Channel: &chime.Channel{
		ChannelArn:           in.ChannelArn,
		CreatedBy:            &chime.Identity{Arn: strp(benchUser), Name: strp("sender-17")},
		CreatedTimestamp:     at,
		LastMessageTimestamp: at,
		LastUpdatedTimestamp: at,
		Mode:                 chime.ChannelModeRestricted,
		Name:                 strp("bench channel"),
		Privacy:              chime.ChannelPrivacyPrivate,
	}}, nil
}

func benchPage(n int) []chime.ChannelMessageSummary {
	page := make([]chime.ChannelMessageSummary, n)
	for i := range page {
		at := chime.NewTime(time.Unix(1764640000+int64(i), int64(i)*1e6))
		page[i] = chime.ChannelMessageSummary{
			Content:              strp(strings.Repeat("x", 100)),
			CreatedTimestamp:     at,
			LastUpdatedTimestamp: at,
			MessageId:            strp(fmt.Sprintf("%032x", i)),
			Sender:               &chime.Identity{Arn: strp(benchUser), Name: strp("sender-17")},
			Status:               &chime.ChannelMessageStatusStructure{Value: chime.ChannelMessageStatusSent},
			Type:                 chime.ChannelMessageTypeStandard,
		}
	}
	return page
}

// wireRequest signs a request as the AWS SDK for Go v2 does, writes it as
// bytes and parses it back the way net/http's server does.
func wireRequest(tb testing.TB, method, target string, body []byte) (*http.Request, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:8910"+target, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("x-amz-chime-bearer", benchUser)
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.36.5 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/chimesdkmessaging#1.0")
	sum := sha256.Sum256(body)
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: benchRootID, SecretAccessKey: benchRootSecret},
		req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	parsed, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		tb.Fatal(err)
	}
	return parsed, body
}

// sink is a ResponseWriter that keeps only the status, as cheap as
// possible so that the handler's own cost shows.
type sink struct {
	h      http.Header
	status int
	n      int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(b []byte) (int, error) { s.n += len(b); return len(b), nil }

// The real server's response writer supports deadlines; so does this one.
func (s *sink) SetReadDeadline(time.Time) error { return nil }

func newBenchHandler(tb testing.TB) http.Handler {
	tb.Helper()
	keys := keyring.New(benchRootID, benchRootSecret, nil, keyring.Options{Region: "us-east-1", Registerer: prometheus.NewRegistry()})
	return httpapi.New(httpapi.Config{
		API:        &quickAPI{page: benchPage(50)},
		Auth:       keys,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Registerer: prometheus.NewRegistry(),
		// belfry serve's defaults.
		BodyReadTimeout:     10 * time.Second,
		MaxSlowBodiesPerKey: 32,
	})
}

// benchCases are the three calls: the send, a history page of 50, and a
// cheap read.
func benchCases(tb testing.TB) []struct {
	name   string
	req    *http.Request
	body   []byte
	status int
} {
	path := "/channels/" + url.PathEscape(benchChannel)
	sendBody := []byte(`{"ClientRequestToken":"s17-123456","Content":"` + strings.Repeat("x", 100) + `","Persistence":"PERSISTENT","Type":"STANDARD"}`)
	send, sb := wireRequest(tb, "POST", path+"/messages", sendBody)
	list, lb := wireRequest(tb, "GET", path+"/messages?max-results=50&sort-order=DESCENDING", nil)
	desc, db := wireRequest(tb, "GET", path, nil)
	return []struct {
		name   string
		req    *http.Request
		body   []byte
		status int
	}{
		{"SendChannelMessage", send, sb, http.StatusCreated},
		{"ListChannelMessages", list, lb, http.StatusOK},
		{"DescribeChannel", desc, db, http.StatusOK},
	}
}

func BenchmarkTransport(b *testing.B) {
	h := newBenchHandler(b)
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			n := 0
			for b.Loop() {
				r := *c.req
				r.Body = io.NopCloser(bytes.NewReader(c.body))
				w := &sink{h: make(http.Header)}
				h.ServeHTTP(w, &r)
				if w.status != c.status {
					b.Fatalf("status %d, want %d", w.status, c.status)
				}
				n++
			}
			// CPU time, garbage collection included, is steadier than
			// wall time on a machine shared with other work.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// TestTransportBenchRequestsAreAccepted keeps the benchmark honest: the
// signed requests must pass verification and get the success status and a
// JSON body, or the benchmark would be timing an error path.
func TestTransportBenchRequestsAreAccepted(t *testing.T) {
	h := newBenchHandler(t)
	for _, c := range benchCases(t) {
		r := *c.req
		r.Body = io.NopCloser(bytes.NewReader(c.body))
		w := &sink{h: make(http.Header)}
		h.ServeHTTP(w, &r)
		if w.status != c.status || w.n == 0 {
			t.Errorf("%s: status %d (%d bytes), want %d with a body", c.name, w.status, w.n, c.status)
		}
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTransportLoopback is BenchmarkTransport over real keep-alive
// connections: net/http's server and client both run in this process, so
// cpu-ns/op holds the client's cost too (the same before and after any
// change to the handler) and the server's connection handling, deadlines
// and syscalls, which the in-memory benchmark leaves out.
func BenchmarkTransportLoopback(b *testing.B) {
	srv := httptest.NewServer(newBenchHandler(b))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			req := signedFor(b, c.req.Method, srv.URL+c.req.RequestURI, c.body)
			b.ReportAllocs()
			cpu0 := processCPU()
			n := 0
			for b.Loop() {
				r := req.Clone(context.Background())
				r.Body = io.NopCloser(bytes.NewReader(c.body))
				res, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != c.status {
					b.Fatalf("status %d, want %d", res.StatusCode, c.status)
				}
				n++
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// signedFor is a client request signed as the AWS SDK for Go v2 signs it.
func signedFor(tb testing.TB, method, url string, body []byte) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("x-amz-chime-bearer", benchUser)
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: benchRootID, SecretAccessKey: benchRootSecret},
		req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	return req
}
