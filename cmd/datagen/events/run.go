package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultRowsPerFile = 1000
	DefaultMaxSamples  = 2000
	DefaultLogEvery    = 10
	// ManifestName is the manifest's file name by default, in the parent
	// of the output folder: outside the watched folder, and no *.csv.
	ManifestName = "datagen-manifest.json"
)

// Options says what Run writes, where and how fast.
type Options struct {
	Config
	// Dir is the output folder; it is created when missing.
	Dir string
	// Interval is the time between two files; 0 writes them back to back.
	Interval time.Duration
	// RowsPerFile is the number of rows of each file (default
	// DefaultRowsPerFile) when Rate is 0.
	RowsPerFile int
	// Files stops Run after this many files; 0 runs until ctx ends.
	Files int
	// Rate is in events per second; 0 is as fast as Interval allows. With
	// Rate and Interval set, each file holds Rate*Interval rows (at least
	// 1) and RowsPerFile is ignored; with Rate set and Interval 0, files of
	// RowsPerFile rows come every RowsPerFile/Rate seconds.
	Rate float64
	// ManifestPath is where the manifest goes (default DefaultManifestPath(Dir)).
	ManifestPath string
	// ManifestEvery, when > 0, rewrites the manifest at most this often
	// (and always at the end) rather than after every file: cheaper with
	// many small files, but after a crash the manifest may list fewer
	// files than there are.
	ManifestEvery time.Duration
	// MaxSamples bounds Manifest.Samples (default DefaultMaxSamples).
	MaxSamples int
	// LogEvery logs a line every LogEvery files (default DefaultLogEvery;
	// negative: never).
	LogEvery int
}

// DefaultManifestPath is the manifest's path for the output folder dir:
// ManifestName in dir's parent, e.g. data/datagen-manifest.json for
// data/events.
func DefaultManifestPath(dir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(dir)), ManifestName)
}

// plan returns the rows of each file, the time between files and the
// simulated time one file covers.
// newManifest is the empty manifest of a run of opts with generator
// config cfg, rows rows a file (or a flush).
func newManifest(cfg Config, opts Options, rows int) *Manifest {
	m := &Manifest{
		Seed: cfg.Seed, RowsPerFile: rows, Users: cfg.Users, Products: cfg.Products,
		Rates: cfg.Rates, Files: []string{}, Kinds: map[string]int64{}, Rejects: map[string]int64{},
		Samples: []Sample{},
	}
	if !cfg.Start.IsZero() {
		m.StartTime = cfg.Start.UTC().Format(time.RFC3339Nano)
	}
	m.SampleEvery = 1
	if opts.Files > 0 && opts.MaxSamples > 0 {
		m.SampleEvery = max(1, int64(opts.Files)*int64(rows)/int64(opts.MaxSamples))
	}
	return m
}

func (o Options) plan() (rows int, interval, span time.Duration) {
	rows, interval = o.RowsPerFile, o.Interval
	switch {
	case o.Rate > 0 && interval > 0:
		rows = max(1, int(math.Round(o.Rate*interval.Seconds())))
	case o.Rate > 0:
		interval = time.Duration(float64(rows) / o.Rate * float64(time.Second))
	}
	span = interval
	if span <= 0 {
		span = time.Duration(rows) * time.Millisecond // 1000 events/s on the simulated clock
	}
	return rows, interval, span
}

func (o Options) withDefaults() Options {
	if o.RowsPerFile == 0 {
		o.RowsPerFile = DefaultRowsPerFile
	}
	if o.ManifestPath == "" {
		o.ManifestPath = DefaultManifestPath(o.Dir)
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.LogEvery == 0 {
		o.LogEvery = DefaultLogEvery
	}
	return o
}

// Check reports Options Run would refuse.
func (o Options) Check() error {
	switch {
	case o.Dir == "":
		return errors.New("no output folder")
	case o.Interval < 0:
		return fmt.Errorf("interval %v is negative", o.Interval)
	case o.RowsPerFile < 0:
		return fmt.Errorf("rows per file %d is negative", o.RowsPerFile)
	case o.Files < 0:
		return fmt.Errorf("files %d is negative", o.Files)
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return fmt.Errorf("rate %v is not a number of events per second >= 0", o.Rate)
	case o.ManifestEvery < 0:
		return fmt.Errorf("manifest interval %v is negative", o.ManifestEvery)
	case o.MaxSamples < 0:
		return fmt.Errorf("max samples %d is negative", o.MaxSamples)
	}
	return o.Config.Check()
}

// Manifest is the ground truth of a run: what was written and what a
// correct pipeline must make of it. Run rewrites it atomically after every
// file (see Options.ManifestEvery), just after the file's rename, so that
// it always describes exactly the files it lists; a crash between the two
// leaves at most that last file unlisted.
type Manifest struct {
	// Seed and StartTime ("" for the wall clock) reproduce the run.
	Seed      int64  `json:"seed"`
	StartTime string `json:"start_time,omitempty"`
	// Dir is the output folder, as given ("" when published to Topic).
	Dir string `json:"dir"`
	// Topic is the Kafka topic published to (datagen --kafka), "" for files.
	Topic       string             `json:"topic,omitempty"`
	RowsPerFile int                `json:"rows_per_file"`
	Users       int                `json:"users"`
	Products    int                `json:"products"`
	Rates       map[string]float64 `json:"rates"`
	// Files are the names of the files written, in order, in Dir.
	Files []string `json:"files"`
	// Rows counts the data lines of the files (headers not included);
	// Rows == Accepted + Rejected.
	Rows     int64 `json:"rows"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	// Kinds counts rows by kind (KindClean and Kinds); they add up to Rows.
	Kinds map[string]int64 `json:"kinds"`
	// Rejects counts the rejected rows by error type.
	Rejects map[string]int64 `json:"rejects"`
	// Stopped says the run was stopped (its context ended) rather than
	// reaching Files.
	Stopped bool `json:"stopped"`
	// SampleEvery: Samples hold every SampleEvery-th accepted row (the
	// SampleEvery-th, the 2*SampleEvery-th...), at most MaxSamples of them.
	SampleEvery int64    `json:"sample_every"`
	Samples     []Sample `json:"samples"`
}

// Sample is one accepted row and where it is.
type Sample struct {
	// File is the file's name in Dir; Line the 1-based line (the header is
	// line 1), as csvdir numbers them.
	File string `json:"file"`
	Line int64  `json:"line"`
	// Want is the row as it must be stored.
	Want Event `json:"want"`
	// n is the row's ordinal among the accepted rows, from 1.
	n int64
}

// ReadManifest reads a manifest written by Run.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// chunkBytes is how much of a file is generated before it is written out
// and the context looked at.
const chunkBytes = 256 << 10

// Run writes files of events into opts.Dir, each atomically (see
// WriteFile), until it has written opts.Files or ctx ends, and keeps the
// manifest at opts.ManifestPath up to date after every file. A file being
// written when ctx ends is abandoned and its temporary file removed; Run
// then writes the manifest a last time and returns it with a nil error.
// Temporary files left behind by an earlier run that was killed are
// removed first. logf, when not nil, gets progress lines.
func Run(ctx context.Context, opts Options, logf func(format string, args ...any)) (*Manifest, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(opts.ManifestPath), 0o755); err != nil {
		return nil, err
	}
	removeStaleTemps(opts.Dir, logf)

	g := New(opts.Config)
	cfg := g.Config()
	rows, interval, span := opts.plan()
	m := newManifest(cfg, opts, rows)
	m.Dir = opts.Dir
	kindIndex := map[string]int{KindClean: 0}
	infos := []KindInfo{{Name: KindClean, Accept: true}}
	for _, k := range Kinds {
		kindIndex[k.Name] = len(infos)
		infos = append(infos, k)
	}

	began := time.Now()
	clock0 := cfg.Start
	if clock0.IsZero() {
		clock0 = began
	}
	stamp := clock0.UTC().Format("20060102T150405.000Z")
	var (
		buf      []byte
		counts   = make([]int64, len(infos))
		samples  []Sample
		accepted = m.Accepted
		warned   bool
		// lastManifest is when the manifest was last written.
		lastManifest time.Time
	)
	for k := 0; opts.Files == 0 || k < opts.Files; k++ {
		if k > 0 && interval > 0 {
			if !sleepUntil(ctx, began.Add(time.Duration(k)*interval)) {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		name := fmt.Sprintf("events-%s-%06d.csv", stamp, k+1)
		base := cfg.Start.Add(time.Duration(k) * span)
		if !cfg.Start.IsZero() && !warned && base.After(time.Now().Add(time.Hour)) {
			warned = true
			logf("datagen: warning: the simulated clock (%s) is more than an hour ahead of the wall clock: the pipeline refuses such event times (INVALID_TIMESTAMP), whatever the manifest says", base.UTC().Format(time.RFC3339))
		}
		clear(counts)
		samples = samples[:0]
		accepted = m.Accepted
		err := WriteFile(opts.Dir, name, func(w io.Writer) error {
			buf = buf[:0]
			now := time.Now()
			for i := 0; i < rows; i++ {
				if cfg.Start.IsZero() {
					if i%128 == 0 {
						now = time.Now()
					}
				} else {
					now = base.Add(time.Duration(int64(span) * int64(i) / int64(rows)))
				}
				var o Outcome
				buf, o = g.Next(buf, now)
				counts[kindIndex[o.Kind]]++
				if o.Accept {
					accepted++
					if opts.MaxSamples > 0 && accepted%m.SampleEvery == 0 {
						samples = append(samples, Sample{File: name, Line: int64(i) + 2, Want: o.Want, n: accepted})
					}
				}
				if len(buf) >= chunkBytes {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
					if err := ctx.Err(); err != nil {
						return err
					}
				}
			}
			_, err := w.Write(buf)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			m.Stopped = true
			if merr := writeManifest(opts.ManifestPath, m); merr != nil {
				logf("datagen: %v", merr)
			}
			return m, err
		}
		m.Files = append(m.Files, name)
		for i, n := range counts {
			if n == 0 {
				continue
			}
			m.Kinds[infos[i].Name] += n
			m.Rows += n
			if infos[i].Accept {
				m.Accepted += n
			} else {
				m.Rejected += n
				m.Rejects[infos[i].ErrorType] += n
			}
		}
		m.Samples = append(m.Samples, samples...)
		for len(m.Samples) > opts.MaxSamples {
			m.SampleEvery *= 2
			kept := m.Samples[:0]
			for _, s := range m.Samples {
				if s.n%m.SampleEvery == 0 {
					kept = append(kept, s)
				}
			}
			m.Samples = kept
		}
		if opts.ManifestEvery <= 0 || time.Since(lastManifest) >= opts.ManifestEvery {
			if err := writeManifest(opts.ManifestPath, m); err != nil {
				return m, err
			}
			lastManifest = time.Now()
		}
		if opts.LogEvery > 0 && len(m.Files)%opts.LogEvery == 0 {
			logProgress(logf, m, began)
		}
	}
	m.Stopped = ctx.Err() != nil
	if err := writeManifest(opts.ManifestPath, m); err != nil {
		return m, err
	}
	logProgress(logf, m, began)
	return m, nil
}

func logProgress(logf func(string, ...any), m *Manifest, began time.Time) {
	secs := time.Since(began).Seconds()
	logf("datagen: %d files, %d rows (%d accepted, %d rejected) in %.1fs, %.0f rows/s",
		len(m.Files), m.Rows, m.Accepted, m.Rejected, secs, float64(m.Rows)/max(secs, 1e-9))
}

func writeManifest(path string, m *Manifest) error {
	data, err := encodeManifest(m)
	if err != nil {
		return err
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// encodeManifest is json.MarshalIndent(m, "", "  ") but for the samples,
// one a line: quicker, and as readable.
func encodeManifest(m *Manifest) ([]byte, error) {
	head := *m
	head.Samples = nil
	data, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return nil, err
	}
	const tail = "null\n}"
	if !bytes.HasSuffix(data, []byte(tail)) {
		return nil, errors.New("manifest: samples are not the last field")
	}
	data = append(data[:len(data)-len(tail)], '[')
	for i := range m.Samples {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, "\n    "...)
		s, err := json.Marshal(&m.Samples[i])
		if err != nil {
			return nil, err
		}
		data = append(data, s...)
	}
	if len(m.Samples) > 0 {
		data = append(data, "\n  "...)
	}
	return append(data, "]\n}\n"...), nil
}

// sleepUntil waits for t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// removeStaleTemps removes the temporary files of a run that was killed.
func removeStaleTemps(dir string, logf func(string, ...any)) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".events-") && strings.HasSuffix(n, ".csv.tmp") && e.Type().IsRegular() {
			if os.Remove(filepath.Join(dir, n)) == nil {
				logf("datagen: removed %s, left by an earlier run", n)
			}
		}
	}
}
