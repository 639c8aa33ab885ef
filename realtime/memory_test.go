//go:build !race

package realtime

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestIdleSessionMemory measures what an idle, established session costs
// the server: the clients run in a child process, so only the server's
// side is counted (Go heap, goroutine stacks and runtime overhead; kernel
// socket buffers are not process memory). design.md targets ≤ 14 KiB.
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
	th := startHub(t, Options{}, nil)
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
	t.Logf("%d idle sessions: %.1f KiB each (server side: heap, stacks, runtime)", sessions, per)
	if per > 14 {
		t.Errorf("an idle session costs %.1f KiB, the target is 14 KiB", per)
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
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		u := fmt.Sprintf("%s?userArn=%s/user/u%04d&sessionId=s&key=root", url, testApp, i)
		c, _, err := websocket.DefaultDialer.Dial(u, nil)
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
