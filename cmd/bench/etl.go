package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// etlProc is a running `etl run`, its JSON log kept in memory.
type etlProc struct {
	cmd     *exec.Cmd
	started chan struct{} // closed at the "pipeline started" log line
	logDone chan struct{} // closed when stderr is at its end
	exited  chan struct{} // closed when wait returns

	mu  sync.Mutex
	log bytes.Buffer
}

// startETL starts `ETL run CONFIG --metrics-addr "" --log-format json`
// (with --once when once), reading from inbox, archiving into archive and
// writing to dsn, plus any extra arguments, with env (KEY=value) added to
// its environment.
//
// When ctx ends first, etl gets a SIGINT. Call wait in any case.
func startETL(ctx context.Context, etl, config string, extra []string, dsn, inbox, archive string, once bool, env ...string) (*etlProc, error) {
	args := []string{"run", config, "--metrics-addr", "", "--log-format", "json"}
	if once {
		args = append(args, "--once")
	}
	args = append(args, extra...)
	cmd := exec.Command(etl, args...)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+dsn, "EVENTS_DIR="+inbox, "ARCHIVE_DIR="+archive), env...)
	// Its own process group: a Ctrl-C at the terminal reaches the
	// benchmark, which then stops etl itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &etlProc{cmd: cmd, started: make(chan struct{}), logDone: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", etl, err)
	}
	go func() {
		select {
		case <-ctx.Done():
			p.interrupt()
		case <-p.exited:
		}
	}()
	go func() {
		defer close(p.logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.OnceFunc(func() { close(p.started) })
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.log.Write(line)
			p.log.WriteByte('\n')
			p.mu.Unlock()
			var l struct{ Msg string }
			if json.Unmarshal(line, &l) == nil && l.Msg == "pipeline started" {
				once()
			}
		}
	}()
	return p, nil
}

// wait waits for etl to exit; a non-zero exit is an error quoting the end
// of its log.
func (p *etlProc) wait() error {
	<-p.logDone // Wait closes the pipe: read it all first
	err := p.cmd.Wait()
	close(p.exited)
	if err != nil {
		return fmt.Errorf("etl: %v; its log ends:\n%s", err, p.tail(20))
	}
	return nil
}

// interrupt sends etl a SIGINT: it commits what is in flight and exits 0.
func (p *etlProc) interrupt() {
	p.cmd.Process.Signal(os.Interrupt)
}

// tail returns the last n lines of the log.
func (p *etlProc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := strings.Split(strings.TrimRight(p.log.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// done returns the fields of the "pipeline done" log line, or nil.
func (p *etlProc) done() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for line := range strings.SplitSeq(p.log.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "pipeline done" {
			return l
		}
	}
	return nil
}
