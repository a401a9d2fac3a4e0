package events

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendTimeMatchesTimeFormat(t *testing.T) {
	layouts := map[timeFormat]string{
		tfClean:           "2006-01-02T15:04:05.000Z07:00",
		tfRFC3339Z:        "2006-01-02T15:04:05Z07:00",
		tfRFC3339OffsetMs: "2006-01-02T15:04:05.000-07:00",
		tfRFC3339Offset:   "2006-01-02T15:04:05-07:00",
		tfSpace:           "2006-01-02 15:04:05",
		tfT:               "2006-01-02T15:04:05",
		tfSlash:           "2006/01/02 15:04:05",
		tfMonthFirst:      "01/02/2006 15:04:05",
		tfText:            "02 Jan 2006 15:04:05",
	}
	r := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(2130, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for range 20000 {
		ms := lo + r.Int64N(hi-lo)
		for f := tfClean; f < numTimeFormats; f++ {
			off := offsets[r.IntN(len(offsets))]
			got := string(appendTime(nil, ms, f, off))
			var want string
			switch f {
			case tfUnix:
				want = itoa(ms / 1000)
			case tfUnixMs:
				want = itoa(ms)
			default:
				tm := time.UnixMilli(ms).UTC()
				if f == tfRFC3339Offset || f == tfRFC3339OffsetMs {
					tm = tm.In(time.FixedZone("", off*60))
				}
				want = tm.Format(layouts[f])
			}
			if got != want {
				t.Fatalf("format %d of %d (offset %d): got %q, want %q", f, ms, off, got, want)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// runOpts are small deterministic options writing into dir.
func runOpts(dir string, seed int64) Options {
	return Options{
		Config:       Config{Seed: seed, Start: testStart, Rates: allRates(0.03)},
		Dir:          filepath.Join(dir, "events"),
		RowsPerFile:  700,
		Files:        4,
		ManifestPath: filepath.Join(dir, "manifest.json"),
		LogEvery:     -1,
	}
}

// snapshot returns the files of dir and their contents.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range csvFiles(t, dir) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}

func TestSameSeedSameFiles(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	run := func(name string, seed int64, tweak func(*Options)) (map[string][]byte, []byte) {
		dir := filepath.Join(base, name)
		o := runOpts(dir, seed)
		if tweak != nil {
			tweak(&o)
		}
		if _, err := Run(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		m, err := os.ReadFile(o.ManifestPath)
		if err != nil {
			t.Fatal(err)
		}
		m = bytes.ReplaceAll(m, []byte(dir), []byte("DIR"))
		return snapshot(t, o.Dir), m
	}
	a, ma := run("a", 7, nil)
	b, mb := run("b", 7, nil)
	c, _ := run("c", 8, nil)
	d, _ := run("d", 7, func(o *Options) { o.Start = o.Start.Add(time.Second) })
	if len(a) != 4 {
		t.Fatalf("%d files, want 4", len(a))
	}
	cases := []struct {
		name  string
		other map[string][]byte
		same  bool
	}{
		{"same seed and start", b, true},
		{"other seed", c, false},
		{"other start", d, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			names := slices.Sorted(func(yield func(string) bool) {
				for n := range a {
					if !yield(n) {
						return
					}
				}
			})
			identical := len(a) == len(tc.other)
			for _, n := range names {
				if !bytes.Equal(a[n], tc.other[n]) {
					identical = false
				}
			}
			if identical != tc.same {
				t.Errorf("files identical: %v, want %v", identical, tc.same)
			}
		})
	}
	if !bytes.Equal(ma, mb) {
		t.Errorf("manifests of the same seed differ")
	}
}

func TestNoReaderSeesPartialFile(t *testing.T) {
	dir := t.TempDir()
	o := runOpts(dir, 3)
	o.Files = 60
	o.RowsPerFile = 3000
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		checked atomic.Int64
		polls   atomic.Int64
		mu      sync.Mutex
		bad     []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := map[string]bool{}
		for !stop.Load() {
			polls.Add(1)
			entries, err := os.ReadDir(o.Dir)
			if err != nil {
				continue
			}
			for _, e := range entries {
				n := e.Name()
				if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".tmp") || !strings.HasSuffix(n, ".csv") || seen[n] {
					continue
				}
				data, err := os.ReadFile(filepath.Join(o.Dir, n))
				if err != nil {
					continue
				}
				seen[n] = true
				checked.Add(1)
				if err := checkComplete(data, o.RowsPerFile); err != nil {
					mu.Lock()
					bad = append(bad, n+": "+err.Error())
					mu.Unlock()
				}
			}
		}
	}()
	m, err := Run(context.Background(), o, nil)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
	if len(m.Files) != o.Files {
		t.Errorf("%d files, want %d", len(m.Files), o.Files)
	}
	if checked.Load() == 0 || polls.Load() < 2 {
		t.Errorf("the reader checked %d files in %d polls: it never raced the writer", checked.Load(), polls.Load())
	}
	t.Logf("reader checked %d files while they appeared, in %d polls", checked.Load(), polls.Load())
	if tmp := tempFiles(t, o.Dir); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestManifestMatchesFiles(t *testing.T) {
	cases := []struct {
		name   string
		rates  map[string]float64
		rows   int
		files  int
		sample int
		every  time.Duration
	}{
		{"dirty", allRates(0.04), 1500, 5, 2000, 0},
		{"defaults, few samples", nil, 2000, 3, 37, 0},
		{"clean only", map[string]float64{}, 500, 2, 100, 0},
		{"manifest written at the end only", allRates(0.02), 700, 6, 500, time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := runOpts(dir, 11)
			o.Rates, o.RowsPerFile, o.Files, o.MaxSamples, o.ManifestEvery = tc.rates, tc.rows, tc.files, tc.sample, tc.every
			m, err := Run(context.Background(), o, nil)
			if err != nil {
				t.Fatal(err)
			}
			disk, err := ReadManifest(o.ManifestPath)
			if err != nil {
				t.Fatal(err)
			}
			if disk.Rows != m.Rows || len(disk.Files) != len(m.Files) || len(disk.Samples) != len(m.Samples) {
				t.Errorf("manifest on disk differs from the one returned")
			}
			// The files listed are the files there, with the rows counted.
			files := csvFiles(t, o.Dir)
			if len(files) != len(disk.Files) {
				t.Fatalf("%d files on disk, manifest lists %d", len(files), len(disk.Files))
			}
			var lines int64
			for i, p := range files {
				if filepath.Base(p) != disk.Files[i] {
					t.Errorf("file %d is %s, manifest says %s", i, filepath.Base(p), disk.Files[i])
				}
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkComplete(data, tc.rows); err != nil {
					t.Errorf("%s: %v", p, err)
				}
				lines += int64(bytes.Count(data, []byte("\n"))) - 1
			}
			if lines != disk.Rows || disk.Rows != int64(tc.rows*tc.files) {
				t.Errorf("files hold %d rows, manifest says %d, want %d", lines, disk.Rows, tc.rows*tc.files)
			}
			var kinds, rejects int64
			for _, n := range disk.Kinds {
				kinds += n
			}
			for _, n := range disk.Rejects {
				rejects += n
			}
			if kinds != disk.Rows || disk.Accepted+disk.Rejected != disk.Rows || rejects != disk.Rejected {
				t.Errorf("kinds add up to %d, accepted+rejected %d, rejects %d, rejected %d; rows %d",
					kinds, disk.Accepted+disk.Rejected, rejects, disk.Rejected, disk.Rows)
			}
			// The real pipeline agrees with the counts and the samples.
			res := runPipeline(t, o.Dir)
			if int64(len(res.accepted)) != disk.Accepted || int64(len(res.rejected)) != disk.Rejected {
				t.Errorf("pipeline accepted %d and rejected %d, manifest says %d and %d",
					len(res.accepted), len(res.rejected), disk.Accepted, disk.Rejected)
			}
			got := map[string]int64{}
			for _, rj := range res.rejected {
				got[rj.ErrorType]++
			}
			for typ, n := range disk.Rejects {
				if got[typ] != n {
					t.Errorf("%s: pipeline %d, manifest %d", typ, got[typ], n)
				}
			}
			if len(got) != len(disk.Rejects) {
				t.Errorf("pipeline error types %v, manifest %v", got, disk.Rejects)
			}
			if len(disk.Samples) == 0 || len(disk.Samples) > tc.sample {
				t.Errorf("%d samples, want 1 to %d", len(disk.Samples), tc.sample)
			}
			if want := disk.Accepted / disk.SampleEvery; int64(len(disk.Samples)) != min(want, int64(tc.sample)) {
				t.Errorf("%d samples, want %d (every %d of %d accepted)", len(disk.Samples), want, disk.SampleEvery, disk.Accepted)
			}
			for _, s := range disk.Samples {
				key := s.File + ":" + itoa(s.Line)
				ev, ok := res.accepted[key]
				if !ok {
					t.Errorf("sample %s was not accepted by the pipeline", key)
					continue
				}
				if !sameEvent(ev, s.Want) {
					t.Errorf("sample %s:\n got %+v\nwant %+v", key, ev, s.Want)
				}
			}
		})
	}
}

func TestKindsAppearAtTheirRates(t *testing.T) {
	const rows = 200000
	cases := []struct {
		name  string
		rates map[string]float64
	}{
		{"defaults", nil},
		{"dirty 0.5", ScaleRates(0.5)},
		{"uneven", map[string]float64{KindBadTime: 0.2, KindPadding: 0.01, KindBrokenCSV: 0.001}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Config{Seed: 5, Rates: tc.rates})
			rates := g.Config().Rates
			counts := map[string]int{}
			var buf []byte
			now := testStart
			for range rows {
				var o Outcome
				buf, o = g.Next(buf[:0], now)
				now = now.Add(time.Millisecond)
				counts[o.Kind]++
			}
			clean := 1.0
			for _, k := range Kinds {
				clean -= rates[k.Name]
				checkRate(t, k.Name, counts[k.Name], rates[k.Name], rows)
			}
			checkRate(t, KindClean, counts[KindClean], clean, rows)
		})
	}
}

// checkRate checks that n of rows is about p: within 5 standard
// deviations, plus one row.
func checkRate(t *testing.T, kind string, n int, p float64, rows int) {
	t.Helper()
	want := p * float64(rows)
	tol := 5*math.Sqrt(want*(1-p)) + 1
	if math.Abs(float64(n)-want) > tol {
		t.Errorf("%s: %d rows, want %.0f ± %.0f (rate %.4f)", kind, n, want, tol, p)
	}
}

func TestDirtyScalesRates(t *testing.T) {
	for _, dirty := range []float64{0, 0.05, 0.3, 1} {
		sum := 0.0
		for _, r := range ScaleRates(dirty) {
			sum += r
		}
		if math.Abs(sum-dirty) > 1e-9 {
			t.Errorf("ScaleRates(%v) adds up to %v", dirty, sum)
		}
	}
	if err := (Config{Rates: ScaleRates(1.01)}).Check(); err == nil {
		t.Error("rates adding up to 1.01 accepted")
	}
	if err := (Config{Rates: map[string]float64{"typo": 0.1}}).Check(); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestCatalogueIsConsistent(t *testing.T) {
	t.Run("generator", func(t *testing.T) {
		a := New(Config{Seed: 9, Products: 2000}).Catalogue()
		b := New(Config{Seed: 9, Products: 2000, Users: 5, Rates: allRates(0.01)}).Catalogue()
		c := New(Config{Seed: 10, Products: 2000}).Catalogue()
		if !slices.EqualFunc(a, b, func(x, y Product) bool { return x.ID == y.ID && x.Name == y.Name && x.Price == y.Price }) {
			t.Error("the same seed gives another catalogue")
		}
		if slices.EqualFunc(a, c, func(x, y Product) bool { return x.Name == y.Name && x.Price == y.Price }) {
			t.Error("another seed gives the same catalogue")
		}
		var commas, quotes, wide int
		for i, p := range a {
			if p.ID != int64(1001+i) {
				t.Errorf("product %d has id %d", i, p.ID)
			}
			n := utf8.RuneCountInString(p.Name)
			if n == 0 || n > MaxNameLength || strings.TrimSpace(p.Name) != p.Name || strings.ContainsAny(p.Name, "\r\n") {
				t.Errorf("product %d: bad name %q", p.ID, p.Name)
			}
			if !strings.Contains(p.Price, ".") || p.Price[0] == '-' || len(p.Price) < 4 || p.Price[len(p.Price)-3] != '.' {
				t.Errorf("product %d: bad price %q", p.ID, p.Price)
			}
			commas += b2i(strings.Contains(p.Name, ","))
			quotes += b2i(strings.Contains(p.Name, `"`))
			wide += b2i(len(p.Name) != n)
		}
		if commas == 0 || quotes == 0 || wide == 0 {
			t.Errorf("names with commas %d, quotes %d, non-ASCII %d: want some of each", commas, quotes, wide)
		}
	})
	t.Run("files", func(t *testing.T) {
		// Through the real pipeline, every accepted row of a product has
		// the catalogue's name and price (or NULL), in every file and run.
		type entry struct{ name, price string }
		seen := map[int64]entry{}
		var g *Generator
		for run := range 2 {
			dir := t.TempDir()
			o := runOpts(dir, 21)
			o.Rates = allRates(0.05)
			o.Files = 6
			o.Start = testStart.Add(time.Duration(run) * time.Hour)
			if _, err := Run(context.Background(), o, nil); err != nil {
				t.Fatal(err)
			}
			g = New(o.Config)
			for key, ev := range runPipeline(t, o.Dir).accepted {
				p, ok := g.Product(ev.ProductID)
				if !ok {
					t.Errorf("%s: product %d not in the catalogue", key, ev.ProductID)
					continue
				}
				if ev.ProductName != "" && ev.ProductName != p.Name {
					t.Errorf("%s: product %d named %q, catalogue %q", key, p.ID, ev.ProductName, p.Name)
				}
				if ev.Price != "" && ev.Price != p.Price {
					t.Errorf("%s: product %d at %s, catalogue %s", key, p.ID, ev.Price, p.Price)
				}
				e := seen[p.ID]
				if ev.ProductName != "" {
					e.name = ev.ProductName
				}
				if ev.Price != "" {
					e.price = ev.Price
				}
				seen[p.ID] = e
			}
		}
		if len(seen) < 50 {
			t.Errorf("only %d products seen", len(seen))
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestWriteFile(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name    string
		exists  bool
		write   func(w io.Writer) error
		wantErr bool
	}{
		{"writes header and rows", false, func(w io.Writer) error {
			_, err := io.WriteString(w, "1,VIEW,2,x,1.00,2025-01-01T00:00:00Z,s\n")
			return err
		}, false},
		{"failing write leaves nothing", false, func(w io.Writer) error { io.WriteString(w, "1,VIE"); return errBoom }, true},
		{"refuses to replace", true, func(w io.Writer) error { return nil }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.exists {
				os.WriteFile(filepath.Join(dir, "a.csv"), []byte("old"), 0o644)
			}
			err := WriteFile(dir, "a.csv", tc.write)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tmp := tempFiles(t, dir); len(tmp) > 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			data, rerr := os.ReadFile(filepath.Join(dir, "a.csv"))
			switch {
			case tc.exists:
				if string(data) != "old" {
					t.Errorf("existing file changed to %q", data)
				}
			case tc.wantErr:
				if rerr == nil {
					t.Errorf("a failed write left a.csv")
				}
			default:
				if !strings.HasPrefix(string(data), Header+"\n") {
					t.Errorf("file does not start with the header: %q", data)
				}
			}
		})
	}
}

func TestRunStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	o := runOpts(dir, 4)
	o.Files = 0
	o.RowsPerFile = 200000 // big files, so that the stop usually lands in one
	stale := filepath.Join(o.Dir, TempName("events-old-000001.csv"))
	os.MkdirAll(o.Dir, 0o755)
	os.WriteFile(stale, []byte("half a fi"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var m *Manifest
	var err error
	go func() {
		defer close(done)
		m, err = Run(ctx, o, t.Logf)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(csvFiles(t, o.Dir)) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if !m.Stopped {
		t.Error("manifest does not say stopped")
	}
	if tmp := tempFiles(t, o.Dir); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	disk, err := ReadManifest(o.ManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	files := csvFiles(t, o.Dir)
	if len(files) < 2 || len(files) != len(disk.Files) || disk.Rows != int64(len(files)*o.RowsPerFile) || !disk.Stopped {
		t.Errorf("%d files on disk; manifest: %d files, %d rows, stopped %v", len(files), len(disk.Files), disk.Rows, disk.Stopped)
	}
}

func TestRunPacesFiles(t *testing.T) {
	cases := []struct {
		name     string
		interval time.Duration
		rate     float64
		rows     int
		wantRows int
		minTime  time.Duration
	}{
		{"interval", 40 * time.Millisecond, 0, 10, 10, 3 * 40 * time.Millisecond},
		{"rate and interval", 50 * time.Millisecond, 1000, 10, 50, 3 * 50 * time.Millisecond},
		{"rate only", 0, 2000, 100, 100, 3 * 50 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := runOpts(dir, 1)
			o.Files, o.Interval, o.Rate, o.RowsPerFile = 4, tc.interval, tc.rate, tc.rows
			began := time.Now()
			m, err := Run(context.Background(), o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took < tc.minTime {
				t.Errorf("4 files in %v, want at least %v", took, tc.minTime)
			}
			if m.RowsPerFile != tc.wantRows || m.Rows != int64(4*tc.wantRows) {
				t.Errorf("rows per file %d, rows %d; want %d per file", m.RowsPerFile, m.Rows, tc.wantRows)
			}
		})
	}
}

func TestNextAppendsOneLine(t *testing.T) {
	g := New(Config{Seed: 1, Rates: allRates(0.07)})
	prefix := []byte("keep me\n")
	buf := append([]byte(nil), prefix...)
	for i := range 50000 {
		n := len(buf)
		buf, _ = g.Next(buf, testStart)
		line := buf[n:]
		if bytes.IndexByte(line, '\n') != len(line)-1 || len(line) < 2 || bytes.IndexByte(line, '\r') >= 0 {
			t.Fatalf("row %d: %q is not one line", i, line)
		}
		if !utf8.Valid(line) {
			t.Fatalf("row %d: %q is not UTF-8", i, line)
		}
		if len(buf) > 1<<20 {
			buf = append(buf[:0], prefix...)
		}
	}
	if !bytes.HasPrefix(buf, prefix) {
		t.Error("Next changed what dst held")
	}
}

func TestTrafficLooksReal(t *testing.T) {
	g := New(Config{Seed: 3, Rates: map[string]float64{}})
	const rows = 100000
	actions := map[string]int{}
	users := map[int64]int{}
	products := map[int64]int{}
	var late, ahead, outOfOrder int
	var prev time.Time
	var buf []byte
	now := testStart
	for i := range rows {
		var o Outcome
		buf, o = g.Next(buf[:0], now)
		w := o.Want
		actions[w.Action]++
		users[w.UserID]++
		products[w.ProductID]++
		lag := now.Sub(w.EventTime)
		switch {
		case lag < -2*time.Second || lag > 30*time.Minute:
			t.Fatalf("row %d: event time %v for clock %v", i, w.EventTime, now)
		case lag < 0:
			ahead++
		case lag > time.Minute-time.Millisecond:
			late++
		}
		if w.EventTime.Before(prev) {
			outOfOrder++
		}
		prev = w.EventTime
		now = now.Add(10 * time.Millisecond)
	}
	t.Logf("actions %v; %d users, %d products; late %d, ahead %d, out of order %d", actions, len(users), len(products), late, ahead, outOfOrder)
	if !(actions[ActionView] > 2*actions[ActionAddToCart] && actions[ActionAddToCart] > actions[ActionPurchase] &&
		actions[ActionPurchase] > 0 && actions[ActionRemoveFromCart] > 0) {
		t.Errorf("no funnel: %v", actions)
	}
	if top := topShare(products, 0.02); top < 0.15 {
		t.Errorf("the top 2%% of products have %.2f of the events: no popular products", top)
	}
	if top := topShare(users, 0.01); top < 0.05 {
		t.Errorf("the top 1%% of users have %.2f of the events: no very active users", top)
	}
	checkRate(t, "late", late, 0.05, rows)
	checkRate(t, "ahead", ahead, 0.01, rows)
	if outOfOrder < rows/10 {
		t.Errorf("only %d events out of order", outOfOrder)
	}
}

// topShare returns the share of all counts held by the top frac of keys.
func topShare(counts map[int64]int, frac float64) float64 {
	var ns []int
	total := 0
	for _, n := range counts {
		ns = append(ns, n)
		total += n
	}
	slices.Sort(ns)
	slices.Reverse(ns)
	k := max(1, int(float64(len(ns))*frac))
	sum := 0
	for _, n := range ns[:k] {
		sum += n
	}
	return float64(sum) / float64(total)
}
