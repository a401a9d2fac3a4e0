//go:build !linux

package host

import "os/exec"

// dieWithParent has no kernel help outside Linux; plugins served by
// plugin.Serve still exit when they see their parent gone.
func dieWithParent(cmd *exec.Cmd) {}
