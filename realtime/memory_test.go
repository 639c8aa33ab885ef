//go:build !race

package realtime

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestIdleSessionMemory measures what an idle, established session costs
// the server, over ws:// and over wss://: the clients run in a child
// process, so only the server's side is counted (Go heap, goroutine stacks
// and runtime overhead; kernel socket buffers are not process memory).
// design.md targets ≤ 14 KiB (ws://) and ≤ 20 KiB (wss://) of RSS, which
// also holds what the collector has not yet returned; this is the part the
// server's own data structures decide.
func TestIdleSessionMemory(t *testing.T) {
	if url := os.Getenv("BELFRY_MEMTEST_CLIENT"); url != "" {
		idleClients(t, url)
		return
	}
	if testing.Short() {
		t.Skip("opens 2,000 sockets; skipped with -short")
	}
	const sessions = 2000
	if lim := openFileLimit(); lim < sessions+256 {
		t.Skipf("needs %d open files, the limit is %d", sessions+256, lim)
	}
	for _, tc := range []struct {
		name   string
		tls    bool
		target float64 // KiB
	}{
		{"ws", false, 14},
		{"wss", true, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := startHubServer(t, Options{}, nil, tc.tls)
			th.dir.set(alice, ch1)
			for i := range sessions {
				th.dir.set(fmt.Sprintf("%s/user/u%04d", testApp, i), ch1, ch2)
			}

			before := serverMemory()
			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleSessionMemory$")
			cmd.Env = append(os.Environ(), "BELFRY_MEMTEST_CLIENT="+th.url, "BELFRY_MEMTEST_N="+strconv.Itoa(sessions))
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { stdin.Close(); cmd.Wait() }()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("client process: %q %v", line, err)
			}
			after := serverMemory()
			per := float64(after-before) / sessions / 1024
			t.Logf("%d idle %s sessions: %.1f KiB each (server side: heap, stacks, runtime)", sessions, tc.name, per)
			if per > tc.target {
				t.Errorf("an idle %s session costs %.1f KiB, the target is %g KiB", tc.name, per, tc.target)
			}
			// What the hub's release after a connection storm costs with
			// these sessions in the heap (stormCheck).
			cpu0, start := processCPU(), time.Now()
			debug.FreeOSMemory()
			t.Logf("one release (debug.FreeOSMemory) with %d sessions: %v of CPU, %v", sessions, processCPU()-cpu0, time.Since(start))
		})
	}
}

// serverMemory is the memory the Go runtime holds from the OS and uses,
// after a collection: what RSS would show of this process, less free pages.
func serverMemory() uint64 {
	runtime.GC()
	runtime.GC()
	s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64() - s[2].Value.Uint64()
}

// idleClients is the child process: it connects n sessions, waits for
// their SESSION_ESTABLISHED, says "ready" and holds them until stdin closes.
func idleClients(t *testing.T, url string) {
	n, _ := strconv.Atoi(os.Getenv("BELFRY_MEMTEST_N"))
	// The test server's certificate is its own; the child only needs to
	// connect, not to trust it.
	d := &websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		u := fmt.Sprintf("%s?userArn=%s/user/u%04d&sessionId=s&key=root", url, testApp, i)
		c, _, err := d.Dial(u, nil)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
}
