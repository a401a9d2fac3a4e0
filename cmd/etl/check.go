package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"etl/core/engine"
)

// checkTimeout bounds etl validate's check of the sink's destination.
const checkTimeout = 30 * time.Second

// offlineUsage is the help of etl validate's --offline flag.
const offlineUsage = "do not contact the sink's destination (the database): check the file and the plugins' configs only"

// checkDestination is etl validate's check of the sink's destination (for
// postgres: the database), read-only, after every plugin took its config.
// It returns what to print on stdout after the pipeline's description (the
// notes, or that nothing was checked) and the exit code: 1 when the check
// found mistakes, which it has printed on stderr, each with file:line:col,
// or when it could not check.
func checkDestination(in *engine.Instance, offline bool, stderr io.Writer) (string, int) {
	sink := in.Spec.Sink
	if offline {
		return fmt.Sprintf("  %s: destination (database) not checked (--offline)\n", sink.Name), 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	notes, errs, err := in.Check(ctx)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return fmt.Sprintf("  %s: destination not checked: the %s plugin cannot check it\n", sink.Name, sink.Plugin), 0
	case err != nil:
		fmt.Fprintf(stderr, "etl validate: %v\n", err)
		return "", 1
	}
	var b strings.Builder
	for _, n := range notes {
		fmt.Fprintf(&b, "  note: %s: %s\n", sink.Name, n)
	}
	if len(errs) > 0 {
		fmt.Fprintln(stderr, errs)
		fmt.Fprint(stderr, b.String())
		return "", 1
	}
	return fmt.Sprintf("  %s: destination checked (read-only)\n", sink.Name) + b.String(), 0
}
