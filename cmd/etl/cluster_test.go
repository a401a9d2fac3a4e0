package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgBin holds the PostgreSQL 15 server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// cluster is a throwaway PostgreSQL server of one test, in a temporary
// folder on a free loopback port, that the test may stop and start: never
// the shared server. (plugins/postgres has the same for its own tests.)
type cluster struct {
	t         testing.TB
	dir, data string
	port, pid int
	as        string // the user it runs as when the test runs as root
}

// startCluster creates and starts a cluster, stopped and removed when the
// test ends.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("needs the PostgreSQL 15 server programs in %s: %v", pgBin, err)
		}
		t.Skipf("skipped: needs the PostgreSQL 15 server programs in %s", pgBin)
	}
	dir, err := os.MkdirTemp("", "etl-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, data: filepath.Join(dir, "data"), port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	t.Cleanup(func() {
		c.stop()
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("skipped: running as root, and there is no postgres user to run initdb as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(c.data, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(c.data, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = "postgres"
	}
	c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = off\nshared_buffers = 16MB\nmax_connections = 20\n", c.port)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.start()
	return c
}

func (c *cluster) run(prog string, args ...string) {
	c.t.Helper()
	path := filepath.Join(pgBin, prog)
	cmd := exec.Command(path, args...)
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	}
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
}

// start starts the server and waits until it accepts connections.
func (c *cluster) start() {
	c.t.Helper()
	c.run("pg_ctl", "start", "-w", "-t", "60", "-D", c.data, "-l", filepath.Join(c.data, "server.log"))
	text, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.pid, err = strconv.Atoi(strings.SplitN(string(text), "\n", 2)[0]); err != nil {
		c.t.Fatalf("postmaster.pid: %v", err)
	}
}

// stop shuts the server down (fast shutdown) by its PID and waits until
// it has exited.
func (c *cluster) stop() {
	if c.pid == 0 {
		return
	}
	pid := c.pid
	c.pid = 0
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGQUIT)
	c.t.Errorf("cluster: the server (pid %d) did not stop in 30s", pid)
}

// dsn returns the URL of database db of the cluster.
func (c *cluster) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}
