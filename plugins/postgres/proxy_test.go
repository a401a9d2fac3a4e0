package postgres

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// fault is what the proxy does to the next connection that reaches its
// trigger.
type fault int

const (
	faultNone fault = iota
	// faultCutAfterCommit forwards the client's COMMIT, lets the server
	// answer, and cuts the connection without passing the answer on: the
	// transaction committed but the client never hears it.
	faultCutAfterCommit
	// faultCutBeforeCommit cuts the connection instead of forwarding the
	// client's COMMIT: the server rolls the transaction back.
	faultCutBeforeCommit
	// faultVanishBeforeCommit drops the client's COMMIT and closes the
	// client's side only, as a network failure would: the server never
	// notices, and its process stays idle in the transaction, holding its
	// locks.
	faultVanishBeforeCommit
	// faultTerminateMidCopy, at the first COPY data the client sends, has
	// the server end the backend with pg_terminate_backend from another
	// connection.
	faultTerminateMidCopy
)

// pgProxy forwards PostgreSQL connections from a loopback port to a server,
// reading the protocol's messages on the way so that it can inject one
// fault at an exact point. It needs sslmode=disable.
type pgProxy struct {
	t        testing.TB
	ln       net.Listener
	upstream string // host:port of the server
	adminDSN string // to terminate backends

	mu    sync.Mutex
	armed fault
	fired chan fault
	conns []net.Conn
}

// startProxy starts a proxy in front of the server of dsn (a URL) and
// returns it with the DSN that goes through it.
func startProxy(t testing.TB, dsn string) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skipf("the proxy tests need the test DSN as a postgres:// URL")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		t.Skipf("the proxy tests need a TCP server, not the socket %s", cfg.Host)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{t: t, ln: ln, upstream: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), adminDSN: dsn, fired: make(chan fault, 1)}
	go p.accept()
	t.Cleanup(p.close)
	pu := *u
	pu.Host = ln.Addr().String()
	q := pu.Query()
	q.Set("sslmode", "disable")
	pu.RawQuery = q.Encode()
	return p, pu.String()
}

// arm sets the fault for the next trigger.
func (p *pgProxy) arm(f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = f
}

// take returns and disarms the fault if it is f.
func (p *pgProxy) take(f fault) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armed != f {
		return false
	}
	p.armed = faultNone
	return true
}

// waitFired fails the test unless the armed fault happened.
func (p *pgProxy) waitFired(t testing.TB, f fault) {
	t.Helper()
	select {
	case got := <-p.fired:
		if got != f {
			t.Fatalf("fault %d happened, want %d", got, f)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("fault %d never happened", f)
	}
}

func (p *pgProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func (p *pgProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		pc := &proxyConn{p: p, client: client, server: server, commitSent: make(chan struct{})}
		go pc.clientToServer()
		go pc.serverToClient()
	}
}

// proxyConn is one proxied connection.
type proxyConn struct {
	p              *pgProxy
	client, server net.Conn

	mu          sync.Mutex
	pid         uint32
	dropReplies bool
	// vanished says the client is gone without the server knowing: what
	// the server still sends goes nowhere, as into a dead network.
	vanished   bool
	commitSent chan struct{}
}

// readMessage reads one typed protocol message.
func readMessage(r *bufio.Reader) (typ byte, msg []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	msg = make([]byte, 5+int(n)-4)
	copy(msg, hdr[:])
	if _, err := io.ReadFull(r, msg[5:]); err != nil {
		return 0, nil, err
	}
	return hdr[0], msg, nil
}

func (c *proxyConn) cut() {
	c.client.Close()
	c.server.Close()
}

func (c *proxyConn) clientToServer() {
	defer func() {
		c.client.Close()
		if _, vanished := c.silenced(); !vanished {
			c.server.Close() // else closed with the proxy
		}
	}()
	r := bufio.NewReader(c.client)
	// The startup message has no type byte.
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return
	}
	start := make([]byte, binary.BigEndian.Uint32(n[:]))
	copy(start, n[:])
	if _, err := io.ReadFull(r, start[4:]); err != nil {
		return
	}
	if _, err := c.server.Write(start); err != nil {
		return
	}
	// commits are the prepared statements that are a COMMIT (a pipelined
	// COMMIT is a Bind of one of them); cutAfterSync says a COMMIT went
	// through and the connection is cut once the Sync that ends its
	// pipeline has followed it.
	commits := map[string]bool{}
	cutAfterSync := false
	for {
		typ, msg, err := readMessage(r)
		if err != nil {
			return
		}
		if typ == 'P' {
			name, rest := cString(msg[5:])
			query, _ := cString(rest)
			commits[name] = isCommit([]byte(query))
		}
		bindsCommit := false
		if typ == 'B' {
			_, rest := cString(msg[5:])
			stmt, _ := cString(rest)
			bindsCommit = commits[stmt]
		}
		commit := (typ == 'Q' && isCommit(msg[5:])) || bindsCommit
		switch {
		case commit && c.p.take(faultCutAfterCommit):
			c.mu.Lock()
			c.dropReplies = true
			c.mu.Unlock()
			if typ == 'Q' { // a simple query is answered by itself
				c.cutAfterAnswer(msg)
				return
			}
			cutAfterSync = true
		case cutAfterSync && typ == 'S':
			c.cutAfterAnswer(msg)
			return
		case commit && c.p.take(faultCutBeforeCommit):
			c.p.fired <- faultCutBeforeCommit
			return
		case commit && c.p.take(faultVanishBeforeCommit):
			c.mu.Lock()
			c.vanished = true
			c.mu.Unlock()
			c.p.fired <- faultVanishBeforeCommit
			return
		case typ == 'd' && c.p.take(faultTerminateMidCopy):
			c.mu.Lock()
			pid := c.pid
			c.mu.Unlock()
			if err := terminateBackend(c.p.adminDSN, pid); err != nil {
				c.p.t.Errorf("proxy: %v", err)
			}
			c.p.fired <- faultTerminateMidCopy
		}
		if _, err := c.server.Write(msg); err != nil {
			return
		}
	}
}

// cutAfterAnswer forwards msg, the last message of a COMMIT, waits until
// the server has answered (serverToClient drops the answer and cuts the
// server side) and closes the client's side. Closing it sooner would let
// the client's driver cancel the COMMIT: pgx sends a CancelRequest for a
// connection it finds lost.
func (c *proxyConn) cutAfterAnswer(msg []byte) {
	c.server.Write(msg)
	select {
	case <-c.commitSent:
		c.client.Close()
		c.p.fired <- faultCutAfterCommit
	case <-time.After(10 * time.Second):
		c.p.t.Errorf("proxy: the server never answered the COMMIT")
	}
}

func (c *proxyConn) serverToClient() {
	defer c.cut()
	r := bufio.NewReader(c.server)
	for {
		typ, msg, err := readMessage(r)
		if err != nil {
			return
		}
		// The server flushes some replies (BindComplete) before the Sync
		// of a pipeline, so a message may arrive after a fault has closed
		// the client, or while one is closing it: then it is dropped, and
		// the server's connection lives on, as the fault intends.
		c.mu.Lock()
		if typ == 'K' && len(msg) >= 9 {
			c.pid = binary.BigEndian.Uint32(msg[5:9])
		}
		drop, vanished := c.dropReplies, c.vanished
		c.mu.Unlock()
		if drop && typ == 'Z' { // the server has answered the COMMIT
			close(c.commitSent)
			return
		}
		if drop || vanished {
			continue
		}
		if _, err := c.client.Write(msg); err != nil {
			if drop, vanished := c.silenced(); !drop && !vanished {
				return
			}
		}
	}
}

// silenced says which fault, if any, has taken the client's replies away.
func (c *proxyConn) silenced() (drop, vanished bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropReplies, c.vanished
}

// cString splits b after its first NUL: the string before it, the rest.
func cString(b []byte) (string, []byte) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), nil
	}
	return string(b[:i]), b[i+1:]
}

// isCommit says whether a query is a COMMIT.
func isCommit(q []byte) bool {
	s := strings.TrimRight(string(q), "\x00; \n\t")
	return strings.EqualFold(strings.TrimSpace(s), "commit")
}

// terminateBackend ends backend pid from another connection and waits
// until it is gone.
func terminateBackend(dsn string, pid uint32) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("terminate backend %d: %w", pid, err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", int32(pid)).Scan(&ok); err != nil {
		return fmt.Errorf("terminate backend %d: %w", pid, err)
	}
	if !ok {
		return fmt.Errorf("terminate backend %d: not terminated", pid)
	}
	return nil
}
