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
// reaches with as many COPY streams as the default writers), the parallel
// copy (two workers committing batches of 5,000 rows, the way
// timescaledb-parallel-copy loads: the fastest raw loader of issue 18's
// table, which the module proxy here does not serve) and pgloader when
// installed, each repeated b.repeat times, alternating, every time
// into a fresh database. Each figure is the median of its rounds: one run
// on a shared machine can be 15% off.
type load struct {
	Pipeline *throughputResult
	Ceiling  *ceilingResult
	Streams2 *ceilingResult
	Parallel *ceilingResult
	Pgloader *ceilingResult // nil: not installed
	// Contenders are the five side by side, each with its rounds.
	Contenders []contender
}

// Names of the contenders.
const (
	nameETL      = "etl"
	namePsql1    = `psql \copy, 1 stream`
	namePsql2    = `psql \copy, 2 streams`
	nameParallel = `parallel copy, 2 x 5,000`
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
	var ceils, twos, pars, pgls []*ceilingResult
	l := &load{}
	var clean *cleanFiles
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
		c, err := ceiling(ctx, b, srv, [][]string{{clean.whole}}, p.Accepted)
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: psql \\copy %.1fs, %.0f rows/s", i, b.repeat, c.Seconds, c.RowsPerS)
		two, err := ceiling(ctx, b, srv, [][]string{clean.halves[:1], clean.halves[1:]}, p.Accepted)
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: psql \\copy, 2 streams %.1fs, %.0f rows/s", i, b.repeat, two.Seconds, two.RowsPerS)
		par, err := ceiling(ctx, b, srv, clean.batches, p.Accepted)
		if err != nil {
			return nil, err
		}
		logf("round %d/%d: %s (%d transactions) %.1fs, %.0f rows/s", i, b.repeat, nameParallel, par.Transactions, par.Seconds, par.RowsPerS)
		pipes, ceils, twos, pars = append(pipes, p), append(ceils, c), append(twos, two), append(pars, par)
		if b.pgloader != "" {
			pgl, err := pgloaderLoad(ctx, b, srv, clean.whole, dir, p.Accepted)
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
	l.Parallel = medianBy(pars, func(r *ceilingResult) float64 { return r.RowsPerS })
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
		summarize(nameParallel, l.Parallel.Rows, mapRuns(pars, ceilingRun)),
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
	per := st.Size() / int64(n)
	return splitFile(path, "", n, func(part int, bytes int64, _ int) bool { return part < n && bytes >= per })
}

// chunkLines writes the lines of path into files of rows lines each
// (path.batch1, path.batch2, ...; the last holds what is left) and returns
// their paths.
func chunkLines(path string, rows int) ([]string, error) {
	rows = max(rows, 1)
	return splitFile(path, "batch", 0, func(_ int, _ int64, lines int) bool { return lines >= rows })
}

// splitFile writes the lines of path, in order and each whole, into files
// path.PREFIX1, path.PREFIX2, ... and returns their paths. Before each
// line, while full says the current file (its number from 1, the bytes
// and lines it holds) is full, the next one is begun; full must say an
// empty file is not, from some file on. At least least files are written,
// the last ones empty when the lines run out first.
func splitFile(path, prefix string, least int, full func(part int, bytes int64, lines int) bool) ([]string, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	var out []string
	var f *os.File
	var w *bufio.Writer
	var bytes int64
	lines := 0
	done := func() error { // closes the current file
		if f == nil {
			return nil
		}
		err := w.Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		f = nil
		return err
	}
	next := func() error { // closes the current file, opens the next
		if err := done(); err != nil {
			return err
		}
		name := fmt.Sprintf("%s.%s%d", path, prefix, len(out)+1)
		var err error
		if f, err = os.Create(name); err != nil {
			return err
		}
		out, w, bytes, lines = append(out, name), bufio.NewWriterSize(f, 1<<20), 0, 0
		return nil
	}
	for {
		line, rerr := r.ReadBytes('\n')
		if len(line) > 0 {
			for f == nil || full(len(out), bytes, lines) {
				if err := next(); err != nil {
					return nil, err
				}
			}
			w.Write(line)
			bytes, lines = bytes+int64(len(line)), lines+1
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			done()
			return nil, rerr
		}
	}
	for len(out) < least {
		if err := next(); err != nil {
			return nil, err
		}
	}
	return out, done()
}
