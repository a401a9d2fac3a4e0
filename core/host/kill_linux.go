package host

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the plugin when etl dies, even by
// SIGKILL, and puts it in its own process group so that a Ctrl-C meant for
// etl does not reach it: etl stops its plugins itself once it has
// committed what was in flight.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
