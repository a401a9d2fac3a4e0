package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"etl/core/engine"
)

const statusHelp = `Usage: etl status CONFIG [flags]

Tells where the pipeline in CONFIG stands, without running it:
  last batch   the id of the last committed batch, and when it was committed
  files        done (read and committed), in progress (committed in part) and
               waiting in the source (those in progress included), with their
               bytes not read yet
  rejected     the rejects committed so far, by error type

It starts and configures the plugins as 'etl validate' does, then asks the sink what
is committed and the source what waits after that. It only reads: no file is read,
moved or deleted, no table is created, and it can run beside 'etl run'.
A file is a partition of the source; other sources count their own partitions.
What a plugin cannot tell is shown as "unknown".`

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", statusHelp, stdout, stderr)
	var c common
	c.register(fs)
	timeout := fs.Duration("timeout", time.Minute, "give up after this long (the sink may be retrying an unreachable database)")
	s, log, code := c.load(fs, args, stderr)
	if s == nil {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	in, err := engine.Open(ctx, s, c.host(), log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer in.Kill()
	st, err := engine.ReadStatus(ctx, in.Pipeline)
	closeCtx, closeCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer closeCancel()
	_ = in.Close(closeCtx)
	if err != nil {
		fmt.Fprintf(stderr, "etl status: pipeline %q: %v\n", s.Name, err)
		return 1
	}
	writeStatus(stdout, s.Name, st, time.Now())
	return 0
}

// writeStatus prints st for people, one fact a line.
func writeStatus(w io.Writer, pipeline string, st engine.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "pipeline:\t%s\n", pipeline)
	switch {
	case st.BatchID == 0:
		fmt.Fprintf(tw, "last batch:\tnone committed\n")
	case st.CommittedAt.IsZero():
		fmt.Fprintf(tw, "last batch:\t%d (commit time unknown)\n", st.BatchID)
	default:
		fmt.Fprintf(tw, "last batch:\t%d, committed %s (%s ago)\n", st.BatchID,
			st.CommittedAt.UTC().Format(time.RFC3339), now.Sub(st.CommittedAt).Round(time.Second))
	}
	waiting := "waiting unknown"
	if b := st.Backlog; b != nil {
		waiting = fmt.Sprintf("%d waiting (%s not read)", b.Partitions, byteSize(b.Bytes))
	}
	fmt.Fprintf(tw, "files:\t%d done, %d in progress, %s\n", st.Done, st.Started, waiting)
	if st.Rejects == nil {
		fmt.Fprintf(tw, "rejected:\tunknown\n")
	} else {
		var total int64
		types := make([]string, 0, len(st.Rejects))
		for t, n := range st.Rejects {
			types = append(types, t)
			total += n
		}
		sort.Strings(types)
		fmt.Fprintf(tw, "rejected:\t%d\n", total)
		for _, t := range types {
			name := t
			if name == "" {
				name = "(no type)"
			}
			fmt.Fprintf(tw, "  %s\t%d\n", name, st.Rejects[t])
		}
	}
	tw.Flush()
}
