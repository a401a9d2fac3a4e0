package host

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes this test binary act as a small etl: it starts the probe,
// prints its socket folder, kills the plugin with SIGKILL (which leaves
// its socket behind), then, by the variable's value, exits cleanly
// ("exit", through Cleanup as etl's main does) or waits to be killed
// ("wait").
const childEnv = "ETL_HOST_TEST_CHILD"

func runChild() int {
	h := &Host{Bundled: testPlugins}
	p, err := h.Start(context.Background(), "t", Ref{Name: "probe"}, StartOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, _ := SocketDir()
	_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
	for !p.Exited() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println(dir)
	if os.Getenv(childEnv) == "wait" {
		time.Sleep(time.Minute)
	}
	Cleanup()
	return 0
}

// startChild runs runChild with TMPDIR=base and returns it and the socket
// folder it printed.
func startChild(t *testing.T, base, mode string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "TMPDIR="+base)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the child printed no socket folder: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

// Defect 7: go-plugin's sockets were left in /tmp after every kill, and
// made under the umask.
func TestSocketsLiveInAPrivateFolderRemovedOnExit(t *testing.T) {
	base := t.TempDir()
	cmd, dir := startChild(t, base, "exit")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if filepath.Dir(dir) != base || !strings.HasPrefix(filepath.Base(dir), fmt.Sprintf("%s%d-", SocketDirPrefix, cmd.Process.Pid)) {
		t.Errorf("socket folder %s, want %s/etl-%d-*", dir, base, cmd.Process.Pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after etl exited, its socket folder %s is still there (%v)", dir, err)
	}
	left, _ := os.ReadDir(base)
	for _, e := range left {
		t.Errorf("left in TMPDIR after the run: %s", e.Name())
	}
}

func TestSocketFolderIsPrivateAndHoldsTheSocket(t *testing.T) {
	p := startProbe(t, Ref{}, StartOptions{})
	dir, err := SocketDir()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("socket folder mode %04o, want 0700", st.Mode().Perm())
	}
	addr := p.client.ReattachConfig().Addr.String()
	if filepath.Dir(addr) != dir {
		t.Errorf("the plugin listens on %s, not in the private folder %s", addr, dir)
	}
	if fi, err := os.Lstat(addr); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Errorf("no socket at %s: %v", addr, err)
	}
}

func TestStaleSocketFoldersOfDeadEtlAreRemoved(t *testing.T) {
	base := t.TempDir()
	// An etl killed by SIGKILL leaves its folder, socket included.
	cmd, killed := startChild(t, base, "wait")
	if _, err := os.Stat(killed); err != nil {
		t.Fatalf("the running child's socket folder: %v", err)
	}
	if got := RemoveStaleSocketDirs(base); len(got) != 0 {
		t.Fatalf("removed %v while its etl still runs", got)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if _, err := os.Stat(killed); err != nil {
		t.Fatalf("a SIGKILLed etl cannot clean up, yet its folder is gone: %v", err)
	}

	mk := func(name string, withLock bool) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if withLock {
			if err := os.WriteFile(filepath.Join(d, lockName), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	// The PID of a live process, with the lock free: the PID was reused by
	// another program; the lock says etl is gone.
	reused := mk(fmt.Sprintf("etl-%d-reused", os.Getppid()), true)
	// A lock held by a live etl whose folder names another PID.
	held := mk("etl-999999999-held", true)
	f, err := os.OpenFile(filepath.Join(held, lockName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		t.Fatal(err)
	}
	// No lock file (killed while making it): the PID decides.
	noLockDead := mk("etl-999999998-nolock", false)
	noLockAlive := mk(fmt.Sprintf("etl-%d-nolock", os.Getppid()), false)
	other := mk("etl-notapid", false)

	removed := RemoveStaleSocketDirs(base)
	gone := map[string]bool{}
	for _, d := range removed {
		gone[d] = true
	}
	for d, want := range map[string]bool{killed: true, reused: true, held: false, noLockDead: true, noLockAlive: false, other: false} {
		if gone[d] != want {
			t.Errorf("%s removed = %v, want %v", filepath.Base(d), gone[d], want)
		}
		if _, err := os.Stat(d); os.IsNotExist(err) != want {
			t.Errorf("%s exists = %v after the sweep", filepath.Base(d), !os.IsNotExist(err))
		}
	}
}
