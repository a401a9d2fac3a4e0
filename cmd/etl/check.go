package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/spec"
)

// checkTimeout bounds etl validate's check of the sink's destination.
const checkTimeout = 30 * time.Second

// offlineUsage is the help of etl validate's --offline flag.
const offlineUsage = "do not contact the sink's destination (the database): check the file and the plugins' configs only"

// checkDestination is etl validate's check of the sink's destination (for
// postgres: the database), read-only, after every plugin took its config.
// It returns what to print after the pipeline's description (the notes,
// or why nothing was checked) and the mistakes found, each located in the
// pipeline file; err when the check itself failed.
func checkDestination(in *engine.Instance, offline bool) (string, spec.Errors, error) {
	sink := in.Spec.Sink
	switch {
	case offline:
		return fmt.Sprintf("  %s: destination (database) not checked (--offline)\n", sink.Name), nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	notes, errs, err := in.Check(ctx)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return fmt.Sprintf("  %s: destination not checked: the %s plugin cannot check it\n", sink.Name, sink.Plugin), nil, nil
	case errors.Is(err, engine.ErrNotConfigured):
		return fmt.Sprintf("  %s: destination not checked: %v (see the mistakes above)\n", sink.Name, err), nil, nil
	case err != nil:
		return "", nil, err
	}
	var b strings.Builder
	if len(errs) == 0 {
		fmt.Fprintf(&b, "  %s: destination checked (read-only)\n", sink.Name)
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "  note: %s: %s\n", sink.Name, n)
	}
	return b.String(), errs, nil
}
