package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
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
What a plugin cannot tell is shown as "unknown".
When the status cannot be read (e.g. the database is unreachable, retried within --timeout),
it says what the sink's check finds: for postgres the DSN used, its password hidden, what
failed, and where the DSN came from (the file, $VAR, or the default of ${VAR:-...}).`

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", statusHelp, stdout, stderr)
	var c common
	c.register(fs)
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long, retrying while the sink's database is unreachable")
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
	st, err := readStatus(ctx, in)
	if err != nil {
		fmt.Fprintf(stderr, "etl status: pipeline %q: %v\n", s.Name, err)
		explainUnreachable(in, stderr)
	}
	closeCtx, closeCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer closeCancel()
	_ = in.Close(closeCtx)
	if err != nil {
		return 1
	}
	writeStatus(stdout, s.Name, st, time.Now())
	return 0
}

// readStatus reads the status, asking the sink to give up promptly when
// its database is unreachable (host.WithEngineRetry) and retrying until
// ctx ends, so that the last failure, not a cancelled call, is what is
// reported.
func readStatus(ctx context.Context, in *engine.Instance) (engine.Status, error) {
	for {
		st, err := engine.ReadStatus(host.WithEngineRetry(ctx), in.Pipeline)
		if err == nil || !errors.Is(err, plugin.ErrUnavailable) {
			return st, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*time.Second {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// explainUnreachable says, after the status could not be read (most often:
// the database could not be reached), what the sink's own check finds (for postgres: the DSN used, its password hidden,
// and what failed) and where each value it names came from: the pipeline
// file, an environment variable, or the default of ${VAR:-default}.
func explainUnreachable(in *engine.Instance, w io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, errs, err := in.Check(ctx)
	if err != nil || len(errs) == 0 {
		return
	}
	for _, e := range errs {
		fmt.Fprintln(w, e)
		key := strings.TrimPrefix(e.Path, in.Spec.Sink.Role+".config.")
		if key == e.Path {
			continue
		}
		if origin := valueOrigin(in.Spec, key, os.LookupEnv); origin != "" {
			fmt.Fprintf(w, "  %s: %s\n", e.Path, origin)
		}
	}
}

var envRefRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// valueOrigin says where the value of key (a top-level key of the sink's
// config block) came from, reading the pipeline file again for the text
// written there: "" when it cannot tell.
func valueOrigin(s *spec.Spec, key string, lookup func(string) (string, bool)) string {
	data, err := os.ReadFile(s.File)
	if err != nil {
		return ""
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	n := doc.Content[0]
	for _, k := range []string{"sink", "config", key} {
		n = mappingValue(n, k)
		if n == nil {
			return ""
		}
	}
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	refs := envRefRE.FindAllStringSubmatch(n.Value, -1)
	if len(refs) == 0 {
		return "written as is in " + s.File
	}
	var parts []string
	for _, m := range refs {
		if v, ok := lookup(m[1]); ok && v != "" {
			parts = append(parts, fmt.Sprintf("taken from $%s (set in the environment)", m[1]))
		} else if m[2] != "" {
			// The default itself is not repeated: it may hold a password.
			parts = append(parts, fmt.Sprintf("the default of ${%s:-...} in %s, since %s is not set", m[1], s.File, m[1]))
		}
	}
	return strings.Join(parts, "; ")
}

// mappingValue returns the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// writePartitions prints the committed offset of each partition and,
// when known, how many messages wait beyond it (a message broker's
// partitions, which are not files).
func writePartitions(tw io.Writer, positions []record.Position, lag []plugin.PartitionLag) {
	behind := map[string]int64{}
	var total int64
	for _, l := range lag {
		behind[l.Partition] = l.Messages
		total += l.Messages
	}
	if lag != nil {
		fmt.Fprintf(tw, "partitions:\t%d committed, %d messages behind in all\n", len(positions), total)
	} else {
		fmt.Fprintf(tw, "partitions:\t%d committed\n", len(positions))
	}
	seen := map[string]bool{}
	for _, p := range positions {
		seen[p.Partition] = true
		if lag != nil {
			fmt.Fprintf(tw, "  %s\tnext offset %d, %d behind\n", p.Partition, p.Offset, behind[p.Partition])
		} else {
			fmt.Fprintf(tw, "  %s\tnext offset %d\n", p.Partition, p.Offset)
		}
	}
	for _, l := range lag {
		if !seen[l.Partition] {
			fmt.Fprintf(tw, "  %s\tnothing committed, %d behind\n", l.Partition, l.Messages)
		}
	}
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
	if b := st.Backlog; b != nil && len(b.Lag) > 0 {
		writePartitions(tw, st.Positions, b.Lag)
	} else if st.BacklogUnavailable != nil {
		// Only a source with an outside system (a broker) says this.
		writePartitions(tw, st.Positions, nil)
		fmt.Fprintf(tw, "lag:\tunknown: %v\n", st.BacklogUnavailable)
	} else {
		waiting := "waiting unknown"
		if b != nil {
			waiting = fmt.Sprintf("%d waiting (%s not read)", b.Partitions, byteSize(b.Bytes))
		}
		fmt.Fprintf(tw, "files:\t%d done, %d in progress, %s\n", st.Done, st.Started, waiting)
	}
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
