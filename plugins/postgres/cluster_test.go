package postgres

import (
	"testing"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// cluster is pgtest's throwaway PostgreSQL server of one test (a temporary
// folder, a free loopback port; never the shared server), with the short
// names this package's tests use.
type cluster struct {
	*pgtest.Cluster
	t testing.TB
}

// startCluster creates and starts a cluster, stopped and removed when the
// test ends.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	return &cluster{Cluster: pgtest.StartCluster(t), t: t}
}

// startErr starts the server again; it may run in another goroutine than
// the test's.
func (c *cluster) startErr() error { return c.Start() }

// stop shuts the server down (fast shutdown) and waits until it has exited.
func (c *cluster) stop() {
	if err := c.Stop(); err != nil {
		c.t.Error(err)
	}
}

// dsn returns the URL of database db of the cluster.
func (c *cluster) dsn(db string) string { return c.DSN(db) }

// exec runs sql in database db.
func (c *cluster) exec(db, sql string) {
	c.t.Helper()
	c.Exec(c.t, db, sql)
}
