package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// errClass says what the sink does about an error.
type errClass int

const (
	// classFatal stops: the error is returned to the engine.
	classFatal errClass = iota
	// classConn: the connection is lost or cannot be made; reconnect and
	// retry.
	classConn
	// classTransient: the transaction failed (deadlock, serialization,
	// lock or statement timeout) but may succeed if tried again.
	classTransient
	// classData: the database refused a value (SQLSTATE class 22 or 23).
	classData
)

func (c errClass) String() string {
	switch c {
	case classConn:
		return "connection"
	case classTransient:
		return "transient"
	case classData:
		return "data"
	}
	return "fatal"
}

// classify sorts err. closed says whether the connection it came from is
// closed now, which pgx does after any network failure.
func classify(err error, closed bool) errClass {
	if err == nil {
		return classFatal
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// pgconn reports a cancelled context as a timeout; whether to go on
		// is the caller's decision, taken on its own context.
		if closed {
			return classConn
		}
		return classFatal
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classifyCode(pe.Code)
	}
	if closed {
		return classConn
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return classConn
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return classConn
	}
	return classFatal
}

// classifyCode sorts an SQLSTATE.
func classifyCode(code string) errClass {
	switch {
	case strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"):
		return classData
	case strings.HasPrefix(code, "08"), // connection exception
		code == "57P01", code == "57P02", code == "57P03", // admin/crash shutdown, cannot connect now
		code == "53300", code == "53400": // too many connections, configuration limit exceeded
		return classConn
	case code == "40001", code == "40P01", // serialization failure, deadlock
		code == "55P03", // lock not available
		code == "57014": // query canceled (statement_timeout)
		return classTransient
	}
	return classFatal
}

// copyLineRE finds the row of a COPY error: "COPY events, line 17, column price: ...".
var copyLineRE = regexp.MustCompile(`\bCOPY .*?, line (\d+)`)

// copyErrorLine returns the 1-based row of a COPY that the database
// refused, or 0 when err does not say.
func copyErrorLine(err error) int {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return 0
	}
	m := copyLineRE.FindStringSubmatch(pe.Where)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// dbReason is the database's own message for a refused row, as stored in
// the rejects table.
func dbReason(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	msg := fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	if pe.Detail != "" {
		msg += ": " + pe.Detail
	}
	return msg
}

// redactedError hides the password in an error's text while keeping the
// error it wraps for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with password removed from its text.
func redactErr(err error, password string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	r := redact(msg, password)
	if r == msg {
		return err
	}
	return &redactedError{msg: r, err: err}
}

// pgErrorOf returns the server error in err, or nil.
func pgErrorOf(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}
