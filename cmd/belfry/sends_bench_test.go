package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkSendsInProcess drives the whole node as belfry serve builds it
// (mux, connection limits, keyring, transport, service, SQLite store,
// relay), with serve's default flags, in process: SDK-signed
// SendChannelMessage requests parsed as net/http's server parses them,
// from 32 concurrent senders so that the store's group commit batches as
// it does under load. cpu-ns/op is the process's CPU time per send,
// every goroutine and the garbage collector included; what it leaves out
// is net/http's own connection handling and the syscalls.
func BenchmarkSendsInProcess(b *testing.B) {
	root := rootKey{AccessKeyID: "AKIDBENCHROOT0000000", SecretAccessKey: "bench/secret+key0000000000000000000000000"}
	var cfg config
	if err := serveFlags(&cfg).Parse([]string{"--data-dir", b.TempDir(), "--log-level", "warn"}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ls := &listeners{wsEndpoint: "ws://127.0.0.1:1", connsRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "refused"})}
	log, _ := newLogger(cfg, io.Discard)
	n, err := build(ctx, cfg, root, st, ls, log)
	if err != nil {
		b.Fatal(err)
	}
	defer n.stopWorkers()

	call := func(method, target string, body any, bearer string, want int) map[string]any {
		var raw []byte
		if body != nil {
			raw, _ = json.Marshal(body)
		}
		r := parsedRequest(b, method, target, raw, bearer, root)
		w := &benchWriter{h: http.Header{}}
		n.handler.ServeHTTP(w, r)
		if w.status != want {
			b.Fatalf("%s %s: status %d: %s", method, target, w.status, w.body.String())
		}
		var out map[string]any
		json.Unmarshal(w.body.Bytes(), &out)
		return out
	}
	app := call("POST", "/app-instances", map[string]any{"Name": "bench", "ClientRequestToken": "app-1"}, "", 201)["AppInstanceArn"].(string)
	user := call("POST", "/app-instance-users", map[string]any{"AppInstanceArn": app, "AppInstanceUserId": "sender", "Name": "sender", "ClientRequestToken": "user-1"}, "", 201)["AppInstanceUserArn"].(string)
	channel := call("POST", "/channels", map[string]any{"AppInstanceArn": app, "Name": "bench", "Mode": "RESTRICTED", "Privacy": "PRIVATE", "ClientRequestToken": "ch-1"}, user, 201)["ChannelArn"].(string)
	target := "/channels/" + url.PathEscape(channel) + "/messages"

	// Each send needs its own token (a repeated one is an idempotent
	// replay), so each is signed beforehand.
	reqs := make([]*http.Request, b.N)
	bodies := make([][]byte, b.N)
	for i := range reqs {
		bodies[i] = fmt.Appendf(nil, `{"ClientRequestToken":"s-%d","Content":"%0100d","Persistence":"PERSISTENT","Type":"STANDARD"}`, i, i)
		reqs[i] = parsedRequest(b, "POST", target, bodies[i], user, root)
	}
	var next atomic.Int64
	b.SetParallelism(16) // 32 senders on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPUTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			r := *reqs[i]
			r.Body = io.NopCloser(bytes.NewReader(bodies[i]))
			w := &benchWriter{h: http.Header{}}
			n.handler.ServeHTTP(w, &r)
			if w.status != http.StatusCreated {
				b.Errorf("send: status %d: %s", w.status, w.body.String())
				return
			}
		}
	})
	b.ReportMetric(float64(processCPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// parsedRequest signs a request as the AWS SDK for Go v2 does and parses
// its bytes back as net/http's server would.
func parsedRequest(tb testing.TB, method, target string, body []byte, bearer string, root rootKey) *http.Request {
	req, err := http.NewRequest(method, "http://127.0.0.1:8400"+target, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("x-amz-chime-bearer", bearer)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: root.AccessKeyID, SecretAccessKey: root.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	var wire bytes.Buffer
	req.Write(&wire)
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		tb.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

type benchWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *benchWriter) SetReadDeadline(time.Time) error { return nil }

func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
