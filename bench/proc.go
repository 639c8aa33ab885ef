package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Root credential every belfry of the suite is started with.
const (
	rootAKID   = "AKIDBENCHROOT0000000"
	rootSecret = "bench/secret/key/0000000000000000000000"
)

// pprofOverlay is compiled into cmd/belfry, through `go build -overlay`,
// only for the profiling build (-profile): it serves net/http/pprof on
// BELFRY_BENCH_PPROF when that is set. The source tree is not touched.
const pprofOverlay = `package main

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("BELFRY_BENCH_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return
	}
	go http.Serve(ln, nil)
}
`

// buildBelfry builds cmd/belfry into dir, plain, and with the pprof
// overlay when profiling.
func buildBelfry(ctx context.Context, root, dir string, profiling bool) (plain, prof string, err error) {
	plain = filepath.Join(dir, "belfry")
	if err := goBuild(ctx, root, plain, ""); err != nil {
		return "", "", err
	}
	if !profiling {
		return plain, "", nil
	}
	src := filepath.Join(dir, "zz_bench_pprof.go")
	if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
		return "", "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	target := filepath.Join(root, "cmd", "belfry", "zz_bench_pprof.go")
	js := fmt.Sprintf(`{"Replace":{%q:%q}}`, target, src)
	if err := os.WriteFile(overlay, []byte(js), 0o644); err != nil {
		return "", "", err
	}
	prof = filepath.Join(dir, "belfry-pprof")
	if err := goBuild(ctx, root, prof, overlay); err != nil {
		return "", "", err
	}
	return plain, prof, nil
}

func goBuild(ctx context.Context, root, out, overlay string) error {
	args := []string{"build", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, "./cmd/belfry")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// freePort returns a loopback address no one listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// belfryProc is a running `belfry serve`.
type belfryProc struct {
	cmd       *exec.Cmd
	httpAddr  string
	tlsAddr   string
	pprofAddr string
	dataDir   string
	log       *tailBuffer
	done      chan struct{}
	waitErr   error
}

type serveOpts struct {
	bin     string
	dataDir string
	pprof   bool     // the binary has the pprof overlay: give it an address
	extra   []string // more flags
	tls     bool     // run the TLS listener (default off: the suite uses ws://)
}

// startBelfry execs belfry serve on free ports and waits for /healthz 200.
// It returns the process and the time from exec to the first 200.
func startBelfry(ctx context.Context, o serveOpts) (*belfryProc, time.Duration, error) {
	httpAddr, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	tlsAddr := "off"
	if o.tls {
		if tlsAddr, err = freePort(); err != nil {
			return nil, 0, err
		}
	}
	args := append([]string{"serve", "--listen", httpAddr, "--tls-listen", tlsAddr, "--data-dir", o.dataDir, "--log-level", "warn"}, o.extra...)
	cmd := exec.Command(o.bin, args...)
	cmd.Env = append(os.Environ(), "BELFRY_ACCESS_KEY_ID="+rootAKID, "BELFRY_SECRET_ACCESS_KEY="+rootSecret)
	p := &belfryProc{cmd: cmd, httpAddr: httpAddr, tlsAddr: tlsAddr, dataDir: o.dataDir, log: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	if o.pprof {
		if p.pprofAddr, err = freePort(); err != nil {
			return nil, 0, err
		}
		cmd.Env = append(cmd.Env, "BELFRY_BENCH_PPROF="+p.pprofAddr)
	}
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	trackChild(cmd.Process)
	go func() { p.waitErr = cmd.Wait(); untrackChild(cmd.Process); close(p.done) }()
	ready, err := waitHealthy(ctx, "http://"+httpAddr+"/healthz", p.done, 30*time.Second)
	if err != nil {
		p.Kill()
		return nil, 0, fmt.Errorf("belfry did not become ready: %v\n%s", err, p.log.String())
	}
	return p, ready.Sub(start), nil
}

// waitHealthy polls url every millisecond until it answers 200.
func waitHealthy(ctx context.Context, url string, exited <-chan struct{}, limit time.Duration) (time.Time, error) {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for {
		res, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return time.Now(), nil
			}
		}
		select {
		case <-exited:
			return time.Time{}, errors.New("process exited")
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("no 200 from %s within %s (last error %v)", url, limit, err)
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *belfryProc) base() string { return "http://" + p.httpAddr }

// Stop asks belfry to shut down (SIGTERM) and waits, killing it after
// the grace period.
func (p *belfryProc) Stop(grace time.Duration) error {
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("belfry did not stop within %s; killed", grace)
	}
}

// Kill ends belfry at once.
func (p *belfryProc) Kill() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// rssBytes reads VmRSS of a process.
func rssBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(v)
			if len(fields) >= 1 {
				kb, err := strconv.ParseInt(fields[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// children are the processes the harness started, killed on interrupt.
var children struct {
	sync.Mutex
	m map[*os.Process]struct{}
}

func trackChild(p *os.Process) {
	children.Lock()
	defer children.Unlock()
	if children.m == nil {
		children.m = map[*os.Process]struct{}{}
	}
	children.m[p] = struct{}{}
}

func untrackChild(p *os.Process) {
	children.Lock()
	defer children.Unlock()
	delete(children.m, p)
}

func killChildren() {
	children.Lock()
	defer children.Unlock()
	for p := range children.m {
		_ = p.Kill()
	}
}

// helperProc is a child process of this harness (`bench __trivial` or
// `bench __broadcast`) that prints the address it listens on.
type helperProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

func startHelper(mode string) (*helperProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, mode)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	trackChild(cmd.Process)
	h := &helperProc{cmd: cmd, done: make(chan struct{})}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		untrackChild(cmd.Process)
		return nil, fmt.Errorf("%s helper: %v", mode, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out); _ = cmd.Wait(); untrackChild(cmd.Process); close(h.done) }()
	h.addr = strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	return h, nil
}

func (h *helperProc) Kill() {
	if h == nil {
		return
	}
	_ = h.cmd.Process.Kill()
	<-h.done
}

// cpuTime is the CPU time (user + system) a process has used so far.
func cpuTime(pid int) (time.Duration, bool) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ
	return time.Duration(ut+st) * time.Second / ticksPerSecond, true
}

// CPUUse is how many cores the server and the harness (load generator,
// receivers) used over a measurement window.
type CPUUse struct {
	Server  float64 `json:"server_cores"`
	Harness float64 `json:"harness_cores"`
	// DB is the PostgreSQL cluster's processes (PostgreSQL mode with the
	// harness's own cluster; 0 otherwise).
	DB float64 `json:"db_cores,omitempty"`
	// Other is the machine's busy time less the two: other processes,
	// plus kernel work (interrupts) not charged to either. Well above 0.1
	// means something else shared the machine.
	Other float64 `json:"other_cores"`
}

// sampleCPU measures the CPU use of the server processes pids and of
// this process between from and to; read the result from the channel
// once to has passed.
func sampleCPU(pids []int, from, to time.Time) <-chan CPUUse {
	out := make(chan CPUUse, 1)
	go func() {
		time.Sleep(time.Until(from))
		stop := cpuWindow(pids...)
		time.Sleep(time.Until(to))
		out <- stop()
	}()
	return out
}

// serversCPU is the CPU time of the processes pids, together.
func serversCPU(pids []int) (time.Duration, bool) {
	var total time.Duration
	for _, pid := range pids {
		t, ok := cpuTime(pid)
		if !ok {
			return 0, false
		}
		total += t
	}
	return total, len(pids) > 0
}

// cpuWindow starts measuring the CPU use of the server processes pids
// (none: no server), of this process, of the PostgreSQL cluster and of
// the rest of the machine; the returned function ends the window.
func cpuWindow(pids ...int) func() CPUUse {
	s0, ok1 := serversCPU(pids)
	h0, ok2 := cpuTime(0)
	m0, ok3 := machineTicks()
	d0, okd0 := dbCPU()
	t0 := time.Now()
	return func() CPUUse {
		s1, ok4 := serversCPU(pids)
		h1, ok5 := cpuTime(0)
		m1, ok6 := machineTicks()
		d1, okd1 := dbCPU()
		el := time.Since(t0).Seconds()
		var u CPUUse
		if el <= 0 {
			return u
		}
		if ok1 && ok4 {
			u.Server = round3((s1 - s0).Seconds() / el)
		}
		if ok2 && ok5 {
			u.Harness = round3((h1 - h0).Seconds() / el)
		}
		if okd0 && okd1 {
			u.DB = round3(max(0, (d1-d0).Seconds()/el))
		}
		if ok3 && ok6 && m1.total > m0.total {
			u.Other = round3(max(0, (m1.busy-m0.busy)/(m1.total-m0.total)*float64(runtime.NumCPU())-u.Server-u.Harness-u.DB))
		}
		return u
	}
}
