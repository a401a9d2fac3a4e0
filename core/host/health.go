package host

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// ErrHung is wrapped by Check's error for a process that lives but does
// not answer (stopped, or stuck).
var ErrHung = errors.New("the process does not answer")

// Check tells whether the process is alive and answers: nil when it
// answers go-plugin's gRPC health check within timeout; else a
// *CrashError saying it exited, or that it hangs (wrapping ErrHung), with
// the tail of its stderr. Plugins answer the health check on a goroutine
// of its own, so a plugin busy with a long call still answers.
func (p *Process) Check(ctx context.Context, timeout time.Duration) error {
	if p.client.Exited() {
		return p.died("keep running", errors.New("the process exited"))
	}
	gc, ok := p.rpc.(*goplugin.GRPCClient)
	if !ok {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := grpc_health_v1.NewHealthClient(gc.Conn).Check(cctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if p.client.Exited() {
		return p.died("keep running", errors.New("the process exited"))
	}
	if cctx.Err() != nil {
		return p.died("answer a health check", fmt.Errorf("%w within %s (stopped or stuck)", ErrHung, timeout))
	}
	for i := 0; i < 20 && !p.client.Exited(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return p.died("answer a health check", err)
}

func (p *Process) died(doing string, err error) *CrashError {
	return &CrashError{Step: p.Step, Plugin: p.Location.Name, Doing: doing, Err: err, Stderr: p.stderr.Tail()}
}

// KillNow ends the process by SIGKILL, without asking it first, and waits
// until it is gone: for a process that hangs, which Kill would wait for
// forever.
func (p *Process) KillNow() {
	if pid := p.Pid(); pid > 0 && !p.client.Exited() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	p.client.Kill()
}

// Stop ends the process: gracefully when it exits within grace of being
// asked, else by SIGKILL.
func (p *Process) Stop(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		p.KillNow()
		<-done
	}
}
