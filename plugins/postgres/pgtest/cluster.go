package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ServerBin holds the PostgreSQL 15 server programs a Cluster runs.
const ServerBin = "/usr/lib/postgresql/15/bin"

// Cluster is a throwaway PostgreSQL server of one test, in a temporary
// folder, listening on a free loopback port only. A test may stop, start
// and restart it at will: it is never the shared server.
type Cluster struct {
	t    testing.TB
	dir  string
	data string
	port int
	// as is the user the server runs as when the test runs as root, which
	// initdb refuses.
	as string

	mu  sync.Mutex
	pid int
}

// StartCluster creates and starts a cluster, stopped and removed when the
// test ends. It skips the test when the server programs are missing
// (fails under CI=true), or when running as root without a postgres user.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ServerBin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: needs the PostgreSQL 15 server programs in %s: %v", ServerBin, err)
		}
		t.Skipf("pgtest: skipped: needs the PostgreSQL 15 server programs in %s", ServerBin)
	}
	dir, err := os.MkdirTemp("", "etl-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("pgtest: find a free port: %v", err)
	}
	c := &Cluster{t: t, dir: dir, data: filepath.Join(dir, "data"), port: port}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("pgtest: skipped: running as root, and there is no postgres user to run initdb as")
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
	if err := c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"+
		"fsync = off\nshared_buffers = 16MB\nmax_connections = 30\n", c.port)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.Start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a server program, as the postgres user when needed.
func (c *Cluster) run(prog string, args ...string) error {
	path := filepath.Join(ServerBin, prog)
	var cmd *exec.Cmd
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server and waits until it accepts connections. It may
// be called from any goroutine.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pid != 0 {
		return nil
	}
	if err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", c.data, "-l", filepath.Join(c.data, "server.log")); err != nil {
		return fmt.Errorf("start the cluster in %s: %w", c.data, err)
	}
	pidText, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("start the cluster: %w", err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(pidText), "\n", 2)[0])
	if err != nil {
		return fmt.Errorf("start the cluster: postmaster.pid: %v", err)
	}
	c.pid = pid
	return nil
}

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, clients disconnected) by its PID and waits until it has exited. It
// does nothing when the server is not running, and may be called from any
// goroutine.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pid == 0 {
		return nil
	}
	pid := c.pid
	c.pid = 0
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		return nil
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
	}
	syscall.Kill(pid, syscall.SIGQUIT)
	return fmt.Errorf("stop the cluster: the server (pid %d) did not stop in 30s", pid)
}

// Restart stops the server, waits down, and starts it again.
func (c *Cluster) Restart(down time.Duration) error {
	if err := c.Stop(); err != nil {
		return err
	}
	time.Sleep(down)
	return c.Start()
}

// Port is the loopback port the server listens on.
func (c *Cluster) Port() int { return c.port }

// DSN returns the URL of database db of the cluster, as user postgres.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Exec runs sql in database db, failing the test on an error.
func (c *Cluster) Exec(t testing.TB, db, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connect(ctx, c.DSN(db))
	if err != nil {
		t.Fatalf("pgtest: connect to the cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// NewDatabase creates a database with a random name in the cluster and
// returns its DSN; it goes with the cluster when the test ends.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := randomName(t)
	c.Exec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return c.DSN(name)
}

// randomName returns a database name no other test uses.
func randomName(t testing.TB) string {
	t.Helper()
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return "etl_test_" + hex.EncodeToString(rnd[:])
}
