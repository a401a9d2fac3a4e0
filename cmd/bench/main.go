// Command bench measures the e-commerce pipeline on the local PostgreSQL,
// in one go (`make bench`), and prints its figures, the contenders side by
// side and the targets of issue 18 with PASS or MISS, also written as JSON
// (--out):
//
//   - throughput: `etl run configs/ecommerce.yaml --once` over --rows
//     pre-generated rows (about 5% dirty) in files of --rows-per-file rows,
//     into a fresh database with the schema of sql/postgres_setup.sql,
//     timed from start to exit: rows/s and MB/s of input, rows/s into
//     events;
//   - the other contenders, in the same run, each into another fresh
//     database with the same table and indexes, on the rows the pipeline
//     put into events, exported as clean CSV: psql's \copy (one stream, the
//     ceiling the pipeline is compared with), psql with two \copy streams
//     at once (the file's two halves), and pgloader when it is on the PATH;
//   - for every contender: rows/s into events, its own CPU (etl and its
//     plugins, psql or pgloader: their rusage) and PostgreSQL's meanwhile
//     (its postmaster's and every child's, from /proc, when the server runs
//     on this machine: pgcpu.go; else "unknown"), both per row in us;
//   - each of these --repeat times, alternating, the table showing the
//     medians (a single run on a shared machine can be 15% off);
//   - latency: `etl run` with datagen writing --latency-rate events/s, a
//     file every --latency-interval, for --latency-duration: p50, p95 and
//     p99 over the files, from a file's rename into the inbox to its last
//     rows being committed;
//   - Kafka latency (only with --kafka-latency-duration): bin/devkafka,
//     one `etl run configs/ecommerce-kafka.yaml` and datagen --kafka at
//     --kafka-latency-rate events/s: p50, p95 and p99 over the messages,
//     from a message's produce timestamp to its offset being committed
//     (kafkalatency.go);
//   - the peak resident memory (VmHWM) of etl and of each plugin process
//     during the throughput runs, and the peak of what they hold resident
//     together: their summed PSS, which counts the pages they share (the
//     etl binary, mapped by every bundled plugin) once. The RSS sum counts
//     those pages once per process and is shown too.
//
// The databases (bench_<random>) are made on the server of --server and
// dropped afterwards. A count that differs from datagen's manifest, or any
// failure, exits 1; a missed target does not.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// bench holds the settings of a run.
type bench struct {
	etl, config, psql string
	pgloader          string // "": not installed
	etlArgs           []string
	rows, perFile     int
	repeat            int
	upsert            bool // measure configs/ecommerce-latest.yaml too
	dirty             float64
	seed              int64

	latencyRate     float64
	latencyInterval time.Duration
	latencyDuration time.Duration
	latencyPoll     time.Duration

	kafka kafkaLatencyOpts // kafkalatency.go
}

// results is the JSON document --out gets.
type results struct {
	Time       string            `json:"time"`
	Machine    machine           `json:"machine"`
	Settings   map[string]any    `json:"settings"`
	Throughput *throughputResult `json:"throughput,omitempty"`
	Ceiling    *ceilingResult    `json:"ceiling,omitempty"`
	// Streams2 is psql with two \copy streams at once: not the target's
	// ceiling, but what PostgreSQL itself reaches with parallel writers.
	Streams2 *ceilingResult `json:"psql_2_streams,omitempty"`
	// Parallel is the parallel copy: two psql, each committing batches
	// of 5,000 rows, the way timescaledb-parallel-copy loads.
	Parallel *ceilingResult `json:"parallel_copy,omitempty"`
	Pgloader *ceilingResult `json:"pgloader,omitempty"`
	// Contenders are etl, psql (1 and 2 streams), the parallel copy and
	// pgloader side by side: medians, per-row figures, every round.
	Contenders []contender    `json:"contenders,omitempty"`
	Latency    *latencyResult `json:"latency,omitempty"`
	Upsert     *upsertResult  `json:"upsert,omitempty"` // upsert.go
	Targets    []target       `json:"targets"`          // targets.go
	// KafkaLatency is produce to commit through the Kafka pipeline (kafkalatency.go).
	KafkaLatency *kafkaLatencyResult `json:"kafka_latency,omitempty"`
}

type machine struct {
	CPUs     int    `json:"cpus"`
	OS       string `json:"os"`
	Go       string `json:"go"`
	Postgres string `json:"postgres"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := &bench{}
	defServer := os.Getenv("ETL_TEST_DATABASE_URL")
	if defServer == "" {
		defServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	server := fs.String("server", defServer, "DSN of the PostgreSQL server's maintenance database, as a role that may create databases")
	setup := fs.String("setup", "sql/postgres_setup.sql", "the schema applied to every fresh database")
	out := fs.String("out", "bench-results.json", "write the results as JSON here (empty: nowhere)")
	tmp := fs.String("tmp", "", "folder for the generated files (default: the system's temporary folder)")
	fs.StringVar(&b.etl, "etl", "bin/etl", "the etl binary")
	fs.StringVar(&b.config, "config", "configs/ecommerce.yaml", "the pipeline file (its engine: settings are the ones measured)")
	fs.Func("etl-arg", "one more argument for `etl run` (repeatable)", func(s string) error { b.etlArgs = append(b.etlArgs, s); return nil })
	fs.IntVar(&b.rows, "rows", 2_000_000, "rows pre-generated for the throughput run (0 skips it, the ceiling and the memory)")
	fs.BoolVar(&b.upsert, "upsert", true, "measure upsert mode (configs/ecommerce-latest.yaml) beside append on the same rows; false skips it\n(e.g. for an etl binary older than upsert mode)")
	fs.IntVar(&b.repeat, "repeat", 3, "rounds of the contenders (etl, psql, psql with 2 streams, pgloader); the table shows their medians")
	fs.IntVar(&b.perFile, "rows-per-file", 100_000, "rows per file of the throughput run")
	fs.Float64Var(&b.dirty, "dirty", 0.05, "share of dirty rows (datagen --dirty)")
	fs.Int64Var(&b.seed, "seed", 1, "datagen's seed")
	fs.Float64Var(&b.latencyRate, "latency-rate", 20_000, "events per second of the latency run")
	fs.DurationVar(&b.latencyInterval, "latency-interval", 250*time.Millisecond, "time between two files of the latency run")
	fs.DurationVar(&b.latencyDuration, "latency-duration", 30*time.Second, "length of the latency run (0 skips it)")
	fs.DurationVar(&b.latencyPoll, "latency-poll", 10*time.Millisecond, "how often the latency run polls etl_offsets for committed files")
	b.kafka.flags(fs)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || b.rows < 0 || b.perFile <= 0 || b.repeat < 1 || b.latencyRate <= 0 || b.latencyInterval <= 0 || b.latencyPoll <= 0 {
		fmt.Fprintln(stderr, "bench: bad arguments; see bench --help")
		return 2
	}
	res, err := measure(ctx, b, *server, *setup, *tmp, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	printTable(stdout, res)
	printUpsert(stdout, res)
	if *out != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nwritten to %s\n", *out)
	}
	return 0
}

// measure runs the measures one after the other.
func measure(ctx context.Context, b *bench, serverURL, setupPath, tmp string, stderr io.Writer) (*results, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	var err error
	if b.psql, err = findPsql(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.etl); err != nil {
		return nil, fmt.Errorf("%v (run make build)", err)
	}
	text, err := os.ReadFile(setupPath)
	if err != nil {
		return nil, err
	}
	srv := &server{admin: serverURL, setup: string(text)}
	pgVersion, err := srv.version(ctx)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at --server: %w", err)
	}
	if srv.cpu, err = localPostgres(ctx, serverURL); err != nil {
		logf("PostgreSQL's CPU: unknown (%v)", err)
	}
	if b.pgloader = findPgloader(); b.pgloader == "" {
		logf("pgloader: not installed")
	}
	dir, err := os.MkdirTemp(tmp, "etl-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	res := &results{
		Time:    time.Now().UTC().Format(time.RFC3339),
		Machine: machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Postgres: pgVersion},
		Settings: map[string]any{"config": b.config, "etl_args": b.etlArgs, "rows": b.rows, "rows_per_file": b.perFile, "repeat": b.repeat,
			"dirty": b.dirty, "seed": b.seed, "latency_rate": b.latencyRate, "latency_interval": b.latencyInterval.String(),
			"latency_duration": b.latencyDuration.String(), "pgloader": b.pgloader},
	}

	if b.rows > 0 {
		l, err := runLoad(ctx, b, srv, dir, logf)
		if err != nil {
			return nil, err
		}
		res.Throughput, res.Ceiling, res.Streams2, res.Parallel, res.Pgloader, res.Contenders = l.Pipeline, l.Ceiling, l.Streams2, l.Parallel, l.Pgloader, l.Contenders
		if b.upsert {
			if res.Upsert, err = upsertMeasure(ctx, b, srv, dir, logf); err != nil {
				return nil, err
			}
		}
	}

	if b.latencyDuration > 0 {
		dsn, drop, err := srv.createDB(ctx)
		if err != nil {
			return nil, err
		}
		defer drop()
		logf("latency: etl run %s with %.0f events/s, a file every %v, for %v", b.config, b.latencyRate, b.latencyInterval, b.latencyDuration)
		if res.Latency, err = latency(ctx, b, filepath.Join(dir, "latency"), dsn); err != nil {
			return nil, err
		}
		drop()
	}

	if res.KafkaLatency, err = kafkaLatencyMeasure(ctx, b, srv, dir, logf); err != nil {
		return nil, err
	}
	res.Targets = judge(res)
	return res, nil
}

func memSum(ps []procPeak) int64 {
	var n int64
	for _, p := range ps {
		n += p.PeakBytes
	}
	return n
}

// printTable prints the results: the pipeline's figures, the contenders
// side by side, then the targets.
func printTable(w io.Writer, r *results) {
	fmt.Fprintf(w, "\n%d CPUs, %s, PostgreSQL %s, %s, config %v\n", r.Machine.CPUs, r.Machine.OS, r.Machine.Postgres, r.Machine.Go, r.Settings["config"])
	row := func(what, value string) { fmt.Fprintf(w, "  %-47s %s\n", what, value) }
	fmt.Fprintln(w)
	if t := r.Throughput; t != nil {
		row("input", fmt.Sprintf("%s rows, %.1f MB, %d files", thousands(t.InputRows), float64(t.InputBytes)/1e6, t.Files))
		row("pipeline time (etl run --once, start to exit)", fmt.Sprintf("%.2f s", t.Seconds))
		row("pipeline rows/s (input rows, rejects incl.)", thousands(int64(t.InputRowsPerS)))
		row("pipeline MB/s (input)", fmt.Sprintf("%.1f", t.InputMBPerS))
		row("etl + plugins CPU (user+sys)", fmt.Sprintf("%.1f s, %.2f of %d cores, %.2f us per input row",
			t.CPUSeconds, t.CPUSeconds/t.Seconds, r.Machine.CPUs, perRowUS(t.CPUSeconds, t.InputRows)))
	}
	if l := r.Latency; l != nil {
		row(fmt.Sprintf("latency p50/p95/p99 (%s ev/s, %d files)", thousands(int64(l.Rate)), l.Files),
			fmt.Sprintf("%.0f / %.0f / %.0f ms", l.P50MS, l.P95MS, l.P99MS))
	}
	if k := r.KafkaLatency; k != nil {
		row(k.label(), k.value())
	}
	if t := r.Throughput; t != nil {
		var etl int64
		var plugins []string
		for i, p := range t.Memory {
			if i == 0 {
				etl = p.PeakBytes
				continue
			}
			plugins = append(plugins, fmt.Sprintf("%s %.0f", strings.TrimPrefix(p.Name, "plugin "), float64(p.PeakBytes)/1e6))
		}
		row("peak RSS etl / plugins / sum (MB)", fmt.Sprintf("%.0f / %s / %.0f", float64(etl)/1e6, strings.Join(plugins, ", "),
			float64(memSum(t.Memory))/1e6))
		row("peak resident together (summed PSS) (MB)", fmt.Sprintf("%.0f", float64(t.PSSPeakBytes)/1e6))
	}
	printContenders(w, r)
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\n  %-47s %-10s %-26s %s\n", "target (issue 18)", "value", "want", "")
		for _, t := range r.Targets {
			value := fmt.Sprintf("%.2f", t.Value)
			if t.NotMeasured {
				value = "unknown"
			}
			fmt.Fprintf(w, "  %-47s %-10s %-26s %s\n", t.Name, value, t.Want, t.verdict())
		}
		if par := contenderNamed(r.Contenders, nameParallel); par != nil {
			fmt.Fprintf(w, "  (the parallel copy of the clean rows, the fastest raw loader of the issue's table, reached %.2f x psql 1 stream here)\n", par.XPsql)
		}
	}
}

// printContenders prints the contenders side by side, then every round's
// rows/s.
func printContenders(w io.Writer, r *results) {
	if len(r.Contenders) == 0 {
		return
	}
	fmt.Fprintf(w, "\n  %-24s %10s %7s %9s %7s %9s %7s\n", fmt.Sprintf("contender (median of %d)", len(r.Contenders[0].Rounds)),
		"rows/s", "x psql", "own CPU", "us/row", "PG CPU", "us/row")
	unknown := "unknown"
	for _, c := range r.Contenders {
		pg, pgRow := unknown, unknown
		if c.PGCPUSeconds != nil {
			pg, pgRow = fmt.Sprintf("%.2f s", *c.PGCPUSeconds), fmt.Sprintf("%.2f", *c.PGCPUPerRowUS)
		}
		fmt.Fprintf(w, "  %-24s %10s %7.2f %9s %7.2f %9s %7s\n", c.Name, thousands(int64(c.RowsPerS)), c.XPsql,
			fmt.Sprintf("%.2f s", c.CPUSeconds), c.CPUPerRowUS, pg, pgRow)
	}
	if r.Settings["pgloader"] == "" {
		fmt.Fprintf(w, "  %-24s not installed\n", namePgloader)
	}
	fmt.Fprintf(w, "  (rows/s and per row: rows into events, %s of them)\n", thousands(r.Contenders[0].Rows))
	if len(r.Contenders[0].Rounds) > 1 {
		fmt.Fprintln(w, "  rounds, rows/s into events:")
		for _, c := range r.Contenders {
			var rs []string
			for _, rd := range c.Rounds {
				rs = append(rs, thousands(int64(rd.RowsPerS)))
			}
			fmt.Fprintf(w, "    %-22s %s\n", c.Name, strings.Join(rs, " "))
		}
	}
}

// thousands formats n with commas: 1234567 -> "1,234,567".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
