package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

// server is the PostgreSQL server the benchmark creates its databases on.
type server struct {
	admin string // DSN of a maintenance database, as a role that may CREATE DATABASE
	setup string // the text of sql/postgres_setup.sql
	cpu   *pgCPU // its processes' CPU; nil when they cannot be read (remote)
}

// createDB creates a fresh database bench_<random> with the tables and
// indexes of sql/postgres_setup.sql, then runs a CHECKPOINT so that the
// load timed next does not pay for the writes of the one before. It
// returns the DSN and a function that drops the database.
func (s *server) createDB(ctx context.Context) (dsn string, drop func(), err error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "bench_" + hex.EncodeToString(rnd[:])
	if err := s.exec(ctx, s.admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.exec(ctx, s.admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
	})
	u, err := url.Parse(s.admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		drop()
		return "", nil, fmt.Errorf("the server's DSN must be a postgres:// URL")
	}
	u.Path, u.RawPath = "/"+name, ""
	dsn = u.String()
	if err := s.exec(ctx, dsn, s.setup); err != nil {
		drop()
		return "", nil, fmt.Errorf("apply sql/postgres_setup.sql: %w", err)
	}
	if err := s.exec(ctx, s.admin, "CHECKPOINT"); err != nil {
		drop()
		return "", nil, fmt.Errorf("checkpoint: %w", err)
	}
	return dsn, drop, nil
}

// exec runs sql (one or more statements, no arguments) on dsn.
func (s *server) exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// version returns the server's version string.
func (s *server) version(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var v string
	err = conn.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v, err
}

// counts returns the rows in events and in corrupt_records.
// checkCounts says whether events and corrupt_records of dsn hold what the
// manifest m says, after what; it returns the two counts.
func checkCounts(ctx context.Context, dsn string, m *events.Manifest, after string) (ev, rej int64, err error) {
	if ev, rej, err = counts(ctx, dsn); err != nil {
		return 0, 0, err
	}
	if ev != m.Accepted || rej != m.Rejected {
		return 0, 0, fmt.Errorf("wrong counts after %s: events %d, corrupt_records %d; the manifest says %d accepted, %d rejected",
			after, ev, rej, m.Accepted, m.Rejected)
	}
	return ev, rej, nil
}

func counts(ctx context.Context, dsn string) (events, rejects int64, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM corrupt_records)").Scan(&events, &rejects)
	return events, rejects, err
}

// findPsql finds psql on the PATH, else among Debian's PostgreSQL binaries.
func findPsql() (string, error) {
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql"); len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", fmt.Errorf("psql not found: install the PostgreSQL client")
}

// psql runs one psql command (e.g. a \copy) against dsn.
func psql(ctx context.Context, bin, dsn, command string) error {
	_, err := psqlCPU(ctx, bin, dsn, command)
	return err
}

// psqlCPU runs psql commands against dsn, one after the other in one
// psql, read as a script from its standard input (each in its own
// transaction: psql commits each; the first that fails stops it), and
// returns psql's CPU seconds (user and system, its rusage).
func psqlCPU(ctx context.Context, bin, dsn string, commands ...string) (float64, error) {
	cmd := exec.CommandContext(ctx, bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-")
	cmd.Stdin = strings.NewReader(strings.Join(commands, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		first := ""
		if len(commands) > 0 {
			first = commands[0]
		}
		// psql names the failing line of the script (psql:<stdin>:N:).
		return 0, fmt.Errorf("psql, %d commands, the first %q: %v\n%s", len(commands), first, err, strings.TrimSpace(string(out)))
	}
	return cpuOf(cmd.ProcessState), nil
}

// cpuOf returns the user and system seconds of an exited process and of
// the children it waited for.
func cpuOf(ps *os.ProcessState) float64 {
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}
