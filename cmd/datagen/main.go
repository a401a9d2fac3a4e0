// Command datagen writes CSV files of realistic e-commerce events into a
// folder (data/events by default) for the pipeline of configs/ecommerce.yaml
// to read: some rows deliberately dirty, each kind at its own rate, and a
// JSON manifest of what a correct pipeline must accept and reject.
//
// Each file is written under a hidden temporary name (.NAME.tmp) and renamed
// into place, so a reader never sees half a file. SIGINT or SIGTERM stops it
// cleanly: the file being written is abandoned and its temporary file
// removed, the manifest written, and it exits 0.
//
// Usage:
//
//	datagen [flags]
//
// Run `datagen --help` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// run is the command: flags in, events.Run, an exit code out. --help and
// --version print to stdout; everything else goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("datagen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	help := fs.Bool("help", false, "print this help and exit")
	fs.BoolVar(help, "h", false, "print this help and exit")
	var (
		opts      events.Options
		seed      = fs.Int64("seed", 0, "seed of everything random (default: from the time; printed at start)")
		startTime = fs.String("start-time", "", "RFC 3339 start of a simulated clock, e.g. 2025-06-01T12:00:00Z: event times come from it\n(advancing by --interval per file, or 1 ms per row when --interval is 0), so the output is\nbyte-identical for the same flags. Default: the wall clock")
		dirty     = fs.Float64("dirty", events.DefaultDirty(), "overall share of dirty rows: scales the default per-kind rates (their sum) to this value")
	)
	kafkaBrokers := fs.String("kafka", "", "publish to Kafka instead of writing files: the seed `BROKERS`, host:port[,host:port...];\none message a row (the header-less CSV line), keyed by the row's user_id text, acks=all, idempotent;\n--rows-per-file is then the rows between two flushes (and manifest rewrites)")
	topic := fs.String("topic", "events", "the Kafka topic (with --kafka)")
	fs.StringVar(&opts.Dir, "out", "data/events", "output folder, created when missing")
	fs.DurationVar(&opts.Interval, "interval", time.Second, "time between two files; 0 writes them back to back")
	fs.IntVar(&opts.RowsPerFile, "rows-per-file", events.DefaultRowsPerFile, "rows per file (ignored when --rate and --interval are both set)")
	fs.IntVar(&opts.Files, "files", 0, "stop after this many files; 0 runs until stopped")
	fs.Float64Var(&opts.Rate, "rate", 0, "events per second; 0 is as fast as --interval allows. With --interval > 0 each file holds\nrate*interval rows; with --interval 0 files of --rows-per-file rows come every rows/rate seconds")
	fs.IntVar(&opts.Users, "users", events.DefaultUsers, "number of distinct users")
	fs.IntVar(&opts.Products, "products", events.DefaultProducts, "number of products in the catalogue")
	fs.IntVar(&opts.Sessions, "sessions", events.DefaultSessions, "shopping sessions interleaved at any time")
	fs.StringVar(&opts.ManifestPath, "manifest", "", "path of the JSON manifest (ground truth: rows, accepted, rejected, counts by kind and\nerror type, samples), rewritten atomically after every file (default: "+events.ManifestName+"\nin the parent of --out, e.g. data/"+events.ManifestName+")")
	fs.DurationVar(&opts.ManifestEvery, "manifest-every", 0, "rewrite the manifest at most this often (and at the end) instead of after every file:\nfor many small files written fast; after a crash the manifest may then lag the files")
	fs.IntVar(&opts.MaxSamples, "samples", events.DefaultMaxSamples, "most accepted rows sampled into the manifest")
	fs.IntVar(&opts.LogEvery, "log-every", events.DefaultLogEvery, "log a progress line to stderr every N files (negative: never)")
	rateFlags := map[string]*rateFlag{}
	for _, k := range events.Kinds {
		rf := &rateFlag{}
		rateFlags[k.Name] = rf
		fs.Var(rf, "rate-"+strings.ReplaceAll(k.Name, "_", "-"), fmt.Sprintf("`rate` of rows with %s; %s\n(default %.4f at --dirty %g, scaled with --dirty)",
			k.Doc, outcome(k), k.Default, events.DefaultDirty()))
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: datagen [flags]\n\nWrites CSV files of e-commerce events into --out for configs/ecommerce.yaml, some rows\ndirty on purpose, and a manifest of what a correct pipeline must accept and reject.\nEach row is clean or has exactly one defect kind (--rate-* flags). Stop with SIGINT/SIGTERM.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *help {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if *showVersion {
		fmt.Fprintf(stdout, "datagen %s\n", version)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "datagen: unexpected arguments %q\n", fs.Args())
		return 2
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if !seedSet {
		*seed = time.Now().UnixNano()
	}
	opts.Seed = *seed
	if *startTime != "" {
		t, err := time.Parse(time.RFC3339Nano, *startTime)
		if err != nil {
			fmt.Fprintf(stderr, "datagen: --start-time: %v\n", err)
			return 2
		}
		opts.Start = t
	}
	if *dirty < 0 || *dirty > 1 {
		fmt.Fprintf(stderr, "datagen: --dirty %v is not between 0 and 1\n", *dirty)
		return 2
	}
	opts.Rates = events.ScaleRates(*dirty)
	for name, rf := range rateFlags {
		if rf.set {
			opts.Rates[name] = rf.v
		}
	}
	if err := opts.Check(); err != nil {
		fmt.Fprintf(stderr, "datagen: %v\n", err)
		return 2
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	manifest := opts.ManifestPath
	if manifest == "" {
		manifest = events.DefaultManifestPath(opts.Dir)
	}
	var m *events.Manifest
	var err error
	if *kafkaBrokers != "" {
		pub, perr := newKafkaPublisher(*kafkaBrokers, *topic)
		if perr != nil {
			fmt.Fprintf(stderr, "datagen: %v\n", perr)
			return 1
		}
		defer pub.Close()
		logf("datagen: seed %d, publishing to %s on %s, manifest %s", opts.Seed, *topic, *kafkaBrokers, manifest)
		m, err = events.Publish(ctx, opts, *topic, pub, logf)
	} else {
		logf("datagen: seed %d, writing into %s, manifest %s", opts.Seed, opts.Dir, manifest)
		m, err = events.Run(ctx, opts, logf)
	}
	if err != nil {
		fmt.Fprintf(stderr, "datagen: %v\n", err)
		return 1
	}
	if m.Stopped {
		logf("datagen: stopped")
	}
	return 0
}

// rateFlag is a --rate-KIND flag: unset unless given.
type rateFlag struct {
	v   float64
	set bool
}

func (r *rateFlag) String() string {
	if r == nil || !r.set {
		return ""
	}
	return strconv.FormatFloat(r.v, 'g', -1, 64)
}

func (r *rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return fmt.Errorf("%q is not a rate between 0 and 1", s)
	}
	r.v, r.set = v, true
	return nil
}

func outcome(k events.KindInfo) string {
	if k.Accept {
		return "accepted"
	}
	return "rejected as " + k.ErrorType
}
