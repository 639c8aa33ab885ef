package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serverConns counts the goroutines net/http runs per connection.
func serverConns() int {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	n := 0
	for _, block := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(block, "net/http.(*conn).serve") {
			var count int
			fmt.Sscanf(block, "%d @", &count)
			n += count
		}
	}
	return n
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSlowBodiesDoNotHoldTheServer opens 2,000 connections that send
// complete headers without a valid signature and then trickle their body.
// The server must answer and close every one of them without waiting for
// the body, while a normal client keeps being served.
func TestSlowBodiesDoNotHoldTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "test/secret+key"}
	ts := startServerWith(t, t.TempDir(), root, func(c *config) { c.MaxConnsPerClient = 0 })
	addr := strings.TrimPrefix(ts.httpURL, "http://")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// A normal client, signing every call, runs throughout.
	stop := make(chan struct{})
	var normalOK, normalFail atomic.Int64
	var slowest atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			res, err := c.Do(signedRequest(t, "GET", ts.httpURL+"/app-instances", "", root.AccessKeyID, root.SecretAccessKey, nil))
			if err != nil {
				normalFail.Add(1)
				continue
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				normalOK.Add(1)
			} else {
				normalFail.Add(1)
			}
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
		}
	}()

	auths := []string{"", "garbage", "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20261202/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)}
	const n = 2000
	conns := make([]net.Conn, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
		req := "POST /channels HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n" +
			"X-Amz-Date: " + time.Now().UTC().Format("20060102T150405Z") + "\r\n"
		if a := auths[i%len(auths)]; a != "" {
			req += "Authorization: " + a + "\r\n"
		}
		if _, err := io.WriteString(c, req+"\r\n{"); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	// Every connection is answered 403 and closed, the body still unsent.
	answered := 0
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			if res.StatusCode != 403 {
				t.Errorf("conn %d: status %d, want 403", i, res.StatusCode)
			}
			answered++
			_, err = io.Copy(io.Discard, res.Body)
			if err == nil {
				var one [1]byte
				_, err = c.Read(one[:])
			}
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("conn %d still open after %s", i, time.Since(start))
		}
		c.Close()
	}
	elapsed := time.Since(start)
	if elapsed > 10*time.Second {
		t.Errorf("closing %d slow-body connections took %s", n, elapsed)
	}
	if answered < n*9/10 {
		t.Errorf("only %d of %d connections got their 403 before the close", answered, n)
	}
	waitFor(t, "server connection goroutines to end", 5*time.Second, func() bool { return serverConns() <= 4 })
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	close(stop)
	wg.Wait()
	if normalFail.Load() > 0 || normalOK.Load() == 0 {
		t.Errorf("normal client: %d ok, %d failed", normalOK.Load(), normalFail.Load())
	}
	// The refusals are counted by reason.
	res, err := http.Get(ts.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`belfry_auth_failures_total{reason="MissingAuthenticationTokenException"} 667`,
		`belfry_auth_failures_total{reason="IncompleteSignatureException"} 667`,
		`belfry_auth_failures_total{reason="UnrecognizedClientException"} 666`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	t.Logf("%d slow-body connections answered (%d with 403) and closed in %s; normal client %d calls ok, slowest %s; heap in use %d KB -> %d KB",
		n, answered, elapsed.Round(time.Millisecond), normalOK.Load(), time.Duration(slowest.Load()).Round(time.Millisecond),
		before.HeapInuse>>10, after.HeapInuse>>10)
}

// TestSlowBodyWithKnownKey: a request whose headers pass (a real key) but
// whose body never completes is cut off at --body-read-timeout.
func TestSlowBodyWithKnownKey(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "test/secret+key"}
	ts := startServerWith(t, t.TempDir(), root, func(c *config) { c.BodyReadTimeout = time.Second })
	addr := strings.TrimPrefix(ts.httpURL, "http://")
	req := signedRequest(t, "POST", ts.httpURL+"/channels", `{"Name":"x"}`, root.AccessKeyID, root.SecretAccessKey, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /channels HTTP/1.1\r\nHost: %s\r\nContent-Length: 12\r\n", addr)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n{\"Na")
	start := time.Now()
	c.Write(head.Bytes())
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 || !strings.Contains(string(b), "not received within 1s") {
		t.Errorf("slow body: %d %s", res.StatusCode, b)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("answered after %s, want about 1s", d)
	}
}

// TestConnectionsPerClientLimit: connections past the limit are closed at
// accept; closing one frees its slot.
func TestConnectionsPerClientLimit(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "test/secret+key"}
	ts := startServerWith(t, t.TempDir(), root, func(c *config) { c.MaxConnsPerClient = 3 })
	addr := strings.TrimPrefix(ts.httpURL, "http://")
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The server has accepted them once a request on each is answered.
	for _, c := range held {
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil {
		t.Error("a fourth connection was served")
	}
	extra.Close()
	held[0].Close()
	waitFor(t, "a freed slot", 5*time.Second, func() bool {
		res, err := (&http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Get(ts.httpURL + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// TestSlowBodiesWithAKnownKeyID: a client that knows an access key id (not
// its secret) passes the header checks, so its trickled body must be read
// before the signature can fail. All but --max-slow-bodies-per-key such
// requests are refused within the grace, while a client of the same key
// that sends its body promptly is served.
func TestSlowBodiesWithAKnownKeyID(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "test/secret+key"}
	ts := startServerWith(t, t.TempDir(), root, func(c *config) { c.MaxSlowBodiesPerKey = 4; c.BodyReadTimeout = 20 * time.Second })
	addr := strings.TrimPrefix(ts.httpURL, "http://")
	const n = 200
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		now := time.Now().UTC()
		fmt.Fprintf(c, "POST /channels HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\nX-Amz-Date: %s\r\n"+
			"Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s\r\n\r\n{",
			addr, now.Format("20060102T150405Z"), root.AccessKeyID, now.Format("20060102"), strings.Repeat("0", 64))
	}
	// A prompt client with the same key is served meanwhile.
	status, _, body := send(t, http.DefaultClient, signedRequest(t, "GET", ts.httpURL+"/app-instances", "", root.AccessKeyID, root.SecretAccessKey, nil))
	if status != 200 {
		t.Errorf("prompt client during the attack: %d %v", status, body)
	}
	start := time.Now()
	refused := 0
	for _, c := range conns {
		// Refusals come within the 250 ms grace; a second is ample.
		c.SetReadDeadline(time.Now().Add(time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			continue // still held: one of the slots
		}
		if res.StatusCode != 429 {
			t.Errorf("status %d, want 429", res.StatusCode)
		}
		refused++
	}
	if refused != n-4 {
		t.Errorf("%d of %d slow bodies refused, want all but 4", refused, n)
	}
	waitFor(t, "refused connections to end", 5*time.Second, func() bool { return serverConns() <= 4+4 })
	t.Logf("%d slow bodies with a known key id: %d refused, the rest held; checked in %s", n, refused, time.Since(start).Round(time.Millisecond))
}
