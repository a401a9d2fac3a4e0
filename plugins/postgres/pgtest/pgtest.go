// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is the one of ETL_TEST_DATABASE_URL when set, else
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. When no
// server answers, a test is skipped with a clear message, unless
// ETL_TEST_DATABASE_URL is set or CI=true, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when ETL_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the DSN of the test server's maintenance database.
func ServerURL() string {
	if u := os.Getenv("ETL_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates a database with a random name on the test server,
// drops it when the test ends, and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := ServerURL()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := connect(ctx, base)
	if err != nil {
		if os.Getenv("ETL_TEST_DATABASE_URL") != "" || os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: PostgreSQL at %s does not answer: %v", host(base), err)
		}
		t.Skipf("pgtest: skipped: needs PostgreSQL, and none answers at %s (set ETL_TEST_DATABASE_URL): %v", host(base), err)
	}
	defer conn.Close(context.Background())

	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "etl_test_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := WithDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// WithDatabase returns dsn (a URL or key=value pairs) naming database db.
func WithDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("the test server's DSN is not a valid URL")
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	return strings.TrimSpace(dsn) + " dbname=" + db, nil
}

// ApplySetup runs sql/postgres_setup.sql of this repository against the
// database of dsn.
func ApplySetup(t testing.TB, dsn string) {
	t.Helper()
	path, err := SetupFile()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", host(dsn), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, string(text)); err != nil {
		t.Fatalf("pgtest: run %s: %v", path, err)
	}
}

// SetupFile returns the path of sql/postgres_setup.sql, found from the
// working directory upwards (a test runs in its package's folder), else
// from this source file.
func SetupFile() (string, error) {
	const rel = "sql/postgres_setup.sql"
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, rel)
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", "..", rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("cannot find " + rel + " above the working directory")
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// host returns the host:port of dsn for messages, without credentials.
func host(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return cfg.Host
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}
