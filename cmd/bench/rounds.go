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
// ceiling), psql with two streams at once (what PostgreSQL itself
// reaches with as many COPY streams as the default writers) and pgloader
// when installed, each repeated b.repeat times, alternating, every time
// into a fresh database. Each figure is the median of its rounds: one run
// on a shared machine can be 15% off.
type load struct {
	Pipeline *throughputResult
	Ceiling  *ceilingResult
	Streams2 *ceilingResult
	Pgloader *ceilingResult // nil: not installed
	// Contenders are the four side by side, each with its rounds.
	Contenders []contender
}

// Names of the contenders.
const (
	nameETL      = "etl"
	namePsql1    = `psql \copy, 1 stream`
	namePsql2    = `psql \copy, 2 streams`
	namePgloader = "pgloader"
)

// contenderRun is one load of events by one contender.
type contenderRun struct {
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"` // rows into events
	// CPUSeconds is the contender's own processes' user and system time,
	// PGCPUSeconds PostgreSQL's (nil: unknown).
	CPUSeconds   float64  `json:"cpu_seconds"`
	PGCPUSeconds *float64 `json:"postgres_cpu_seconds"`
}

// contender is one loader's figures, each the median of its rounds; the
// per-row ones count rows into events.
type contender struct {
	Name          string         `json:"name"`
	Rows          int64          `json:"rows_to_events"`
	RowsPerS      float64        `json:"rows_per_s"`
	XPsql         float64        `json:"x_psql_1_stream"`
	CPUSeconds    float64        `json:"cpu_seconds"`
	CPUPerRowUS   float64        `json:"cpu_us_per_row"`
	PGCPUSeconds  *float64       `json:"postgres_cpu_seconds"`
	PGCPUPerRowUS *float64       `json:"postgres_cpu_us_per_row"`
	Rounds        []contenderRun `json:"rounds"`
}

// summarize makes a contender of its rounds: the median of each figure.
// PostgreSQL's CPU is unknown if it is in any round.
func summarize(name string, rows int64, runs []contenderRun) contender {
	median := func(f func(contenderRun) float64) float64 { return f(medianBy(runs, f)) }
	c := contender{Name: name, Rows: rows, Rounds: runs,
		RowsPerS:   median(func(r contenderRun) float64 { return r.RowsPerS }),
		CPUSeconds: median(func(r contenderRun) float64 { return r.CPUSeconds }),
	}
	c.CPUPerRowUS = perRowUS(c.CPUSeconds, rows)
	for _, r := range runs {
		if r.PGCPUSeconds == nil {
			return c
		}
	}
	pg := median(func(r contenderRun) float64 { return *r.PGCPUSeconds })
	perRow := perRowUS(pg, rows)
	c.PGCPUSeconds, c.PGCPUPerRowUS = &pg, &perRow
	return c
}

// perRowUS returns seconds per row in microseconds.
func perRowUS(seconds float64, rows int64) float64 {
	if rows == 0 {
		return 0
	}
	return seconds / float64(rows) * 1e6
}

func pipelineRun(p *throughputResult) contenderRun {
	return contenderRun{Seconds: p.Seconds, RowsPerS: p.EventsRowsPerS, CPUSeconds: p.CPUSeconds, PGCPUSeconds: p.PGCPUSeconds}
}

func ceilingRun(c *ceilingResult) contenderRun {
	return contenderRun{Seconds: c.Seconds, RowsPerS: c.RowsPerS, CPUSeconds: c.CPUSeconds, PGCPUSeconds: c.PGCPUSeconds}
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
	var ceils, twos, pgls []*ceilingResult
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
		p, err := throughput(ctx, b, srv, tp, m, size, dsn)
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
		if b.pgloader != "" {
			pgl, err := pgloaderLoad(ctx, b, srv, clean[0], dir, p.Accepted)
			if err != nil {
				return nil, err
			}
			logf("round %d/%d: pgloader %.1fs, %.0f rows/s", i, b.repeat, pgl.Seconds, pgl.RowsPerS)
			pgls = append(pgls, pgl)
		}
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
	l.Contenders = []contender{
		summarize(nameETL, l.Pipeline.Accepted, mapRuns(pipes, pipelineRun)),
		summarize(namePsql1, l.Ceiling.Rows, mapRuns(ceils, ceilingRun)),
		summarize(namePsql2, l.Streams2.Rows, mapRuns(twos, ceilingRun)),
	}
	if pgls != nil {
		l.Pgloader = medianBy(pgls, func(r *ceilingResult) float64 { return r.RowsPerS })
		l.Contenders = append(l.Contenders, summarize(namePgloader, l.Pgloader.Rows, mapRuns(pgls, ceilingRun)))
	}
	for i := range l.Contenders {
		l.Contenders[i].XPsql = l.Contenders[i].RowsPerS / l.Contenders[1].RowsPerS
	}
	return l, nil
}

func mapRuns[T any](xs []T, f func(T) contenderRun) []contenderRun {
	var out []contenderRun
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
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
