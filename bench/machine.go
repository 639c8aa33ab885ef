package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine describes where the suite ran.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	RAM       string `json:"ram"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Disk      string `json:"disk"`
	FileLimit string `json:"file_limit"`
	// BusyBefore is how many cores other processes kept busy in the second
	// before the run started, and LoadAvg the 1-minute load average then:
	// benchmarks on a shared machine read low.
	BusyBefore float64 `json:"busy_cores_before_run"`
	LoadAvg    string  `json:"load_average_before_run"`
}

func machineInfo(workDir, fileLimit string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), FileLimit: fileLimit}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				fs := strings.Fields(v)
				if kb, err := strconv.ParseFloat(fs[0], 64); err == nil {
					m.RAM = strconv.FormatFloat(kb/1024/1024, 'f', 1, 64) + " GiB"
				}
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.Go = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	m.Disk = diskInfo(workDir)
	return m
}

// diskInfo names the file system holding dir: device, type, size, free.
func diskInfo(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	size := float64(st.Blocks) * float64(st.Bsize) / (1 << 30)
	free := float64(st.Bavail) * float64(st.Bsize) / (1 << 30)
	dev, fstype := mountOf(dir)
	return strings.TrimSpace(dev + " " + fstype + " " + strconv.FormatFloat(size, 'f', 0, 64) + " GiB (" + strconv.FormatFloat(free, 'f', 0, 64) + " GiB free), data dirs in " + dir)
}

// mountOf finds the longest mount point that contains dir.
func mountOf(dir string) (dev, fstype string) {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "", ""
	}
	best := -1
	for _, l := range strings.Split(string(b), "\n") {
		fs := strings.Fields(l)
		if len(fs) < 3 {
			continue
		}
		mp := fs[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > best {
			best, dev, fstype = len(mp), fs[0], fs[2]
		}
	}
	return dev, fstype
}

// gitCommit is the short commit of the work tree, "-dirty" if it has
// changes.
func gitCommit(root string) string {
	cmd := exec.Command("git", "rev-parse", "--short=12", "HEAD")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	st := exec.Command("git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
	st.Dir = root
	if out, err := st.Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		c += "-dirty"
	}
	return c
}

type ticks struct{ busy, total float64 }

// machineTicks reads the machine's CPU time from /proc/stat: busy (all
// but idle and iowait) and total, in clock ticks summed over the cores.
func machineTicks() (ticks, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return ticks{}, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return ticks{}, false
	}
	var t ticks
	for i, v := range f[1:] {
		if i >= 8 { // guest time is already in user
			break
		}
		x, _ := strconv.ParseFloat(v, 64)
		t.total += x
		if i != 3 && i != 4 { // idle, iowait
			t.busy += x
		}
	}
	return t, true
}

// machineBusy is how many cores were busy, on average, over d.
func machineBusy(d time.Duration) float64 {
	t0, ok0 := machineTicks()
	time.Sleep(d)
	t1, ok1 := machineTicks()
	if !ok0 || !ok1 || t1.total <= t0.total {
		return 0
	}
	return round3((t1.busy - t0.busy) / (t1.total - t0.total) * float64(runtime.NumCPU()))
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
