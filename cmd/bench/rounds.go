package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

// load is the throughput part of a run: the pipeline over the
// pre-generated files, psql's single-stream \copy of the same rows (the
// ceiling) and psql with two streams at once (what PostgreSQL itself
// reaches with as many COPY streams as the default writers), each
// repeated b.repeat times, alternating, every time into a fresh database.
// Each figure is the median of its rounds: one run on a shared machine
// can be 15% off.
type load struct {
	Pipeline *throughputResult
	Ceiling  *ceilingResult
	Streams2 *ceilingResult
	// Rounds are the rows/s into events of every round, in order.
	Rounds []round
}

type round struct {
	Pipeline float64 `json:"pipeline_rows_per_s"`
	Ceiling  float64 `json:"psql_rows_per_s"`
	Streams2 float64 `json:"psql_2_streams_rows_per_s"`
}

// runLoad generates the files, then runs the rounds.
func runLoad(ctx context.Context, b *bench, srv *server, dir string, logf func(string, ...any)) (*load, error) {
	tp := filepath.Join(dir, "throughput")
	inbox, archive := filepath.Join(tp, "inbox"), filepath.Join(tp, "archive")
	logf("generating %d rows in files of %d into %s", b.rows, min(b.perFile, b.rows), tp)
	m, size, err := generate(ctx, tp, b.rows, b.perFile, b.dirty, b.seed)
	if err != nil {
		return nil, err
	}
	var pipes []*throughputResult
	var ceils, twos []*ceilingResult
	l := &load{}
	var clean []string // the clean rows: one file, then its two halves
	for i := 1; i <= b.repeat; i++ {
		if i > 1 {
			if err := unarchive(m, inbox, archive); err != nil {
				return nil, err
			}
		}
		dsn, drop, err := srv.createDB(ctx)
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: etl run %s --once over %d files, %.1f MB", i, b.repeat, b.config, len(m.Files), float64(size)/1e6)
		p, err := throughput(ctx, b, tp, m, size, dsn)
		if err == nil && clean == nil {
			clean, err = exportClean(ctx, b, dsn, dir)
		}
		drop()
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: pipeline %.1fs, %.0f rows/s into events", i, b.repeat, p.Seconds, p.EventsRowsPerS)
		c, err := ceiling(ctx, b, srv, clean[:1], p.Accepted)
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: psql \\copy %.1fs, %.0f rows/s", i, b.repeat, c.Seconds, c.RowsPerS)
		two, err := ceiling(ctx, b, srv, clean[1:], p.Accepted)
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: psql \\copy, 2 streams %.1fs, %.0f rows/s", i, b.repeat, two.Seconds, two.RowsPerS)
		pipes, ceils, twos = append(pipes, p), append(ceils, c), append(twos, two)
		l.Rounds = append(l.Rounds, round{Pipeline: p.EventsRowsPerS, Ceiling: c.RowsPerS, Streams2: two.RowsPerS})
	}
	l.Pipeline = medianBy(pipes, func(r *throughputResult) float64 { return r.EventsRowsPerS })
	l.Ceiling = medianBy(ceils, func(r *ceilingResult) float64 { return r.RowsPerS })
	l.Streams2 = medianBy(twos, func(r *ceilingResult) float64 { return r.RowsPerS })
	// Memory is the worst round's.
	for _, p := range pipes {
		if p.PSSPeakBytes > l.Pipeline.PSSPeakBytes || (p.PSSPeakBytes == l.Pipeline.PSSPeakBytes && memSum(p.Memory) > memSum(l.Pipeline.Memory)) {
			l.Pipeline.Memory, l.Pipeline.PSSPeakBytes = p.Memory, p.PSSPeakBytes
		}
	}
	return l, nil
}

// medianBy returns the element of xs (not empty) with the median key; of
// an even count, the lower of the two middle ones.
func medianBy[T any](xs []T, key func(T) float64) T {
	s := append([]T(nil), xs...)
	sort.SliceStable(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
	return s[(len(s)-1)/2]
}

// unarchive moves the files of m back from archive into inbox, for the
// next round.
func unarchive(m *events.Manifest, inbox, archive string) error {
	for _, f := range m.Files {
		if err := os.Rename(filepath.Join(archive, f), filepath.Join(inbox, f)); err != nil {
			return fmt.Errorf("move %s back into the inbox: %w", f, err)
		}
	}
	return nil
}

// splitLines writes the lines of path into n files of about equal size
// (path.1, path.2, ...), each line whole, and returns their paths.
func splitLines(path string, n int) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	var out []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s.%d", path, i)
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		var written int64
		var rerr error
		for rerr == nil && (i == n || written < st.Size()/int64(n)) {
			var line []byte
			line, rerr = r.ReadBytes('\n')
			w.Write(line)
			written += int64(len(line))
		}
		if rerr != nil && rerr != io.EOF {
			f.Close()
			return nil, rerr
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}
