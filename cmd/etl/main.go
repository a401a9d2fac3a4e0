// Command etl runs streaming ETL pipelines described in YAML, with source,
// transform and sink plugins running as separate processes over gRPC.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/metrics"
	"github.com/seed-etl/etl/core/spec"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `etl: streaming ETL pipelines from YAML, with plugins over gRPC.

Usage:
  etl run CONFIG [--once]     run a pipeline (Ctrl-C commits what is in flight, then stops)
  etl validate CONFIG         check a pipeline file, every plugin's config and the database; moves no data
  etl test CONFIG [TESTFILE]  run the source and transforms on examples (default: CONFIG's .test.yaml)
  etl status CONFIG           where a pipeline stands: last batch, files done and waiting, rejects
  etl plugins [CONFIG] [NAME] list the plugins etl can find (for CONFIG's repository too), or NAME's settings
  etl version                 print the version

Run 'etl help COMMAND' (or 'etl COMMAND --help') for a command's flags.
`

func main() {
	if host.ServeBundled(bundled) {
		return
	}
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	// The plugins have stopped: their private socket folder goes.
	host.Cleanup()
	os.Exit(code)
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "test":
		return cmdTest(rest, stdout, stderr)
	case "status":
		return cmdStatus(rest, stdout, stderr)
	case "plugins":
		return cmdPlugins(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "etl %s (plugin protocol %d)\n", version, pluginProtocol())
		return 0
	case "help", "-h", "--help":
		if len(rest) > 0 && rest[0] != "help" && !strings.HasPrefix(rest[0], "-") {
			// etl help run: the help of run.
			return run([]string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "etl: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// load parses the flags and the one CONFIG argument of a command, makes
// its logger and loads the pipeline file. When it returns no spec, it has
// said why on stderr and code is the exit code (0 for --help).
func (c *common) load(fs *flag.FlagSet, args []string, stderr io.Writer) (*spec.Spec, *slog.Logger, int) {
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, nil, 0
	}
	if err != nil {
		return nil, nil, 2
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "etl %s: want exactly one CONFIG file\n", fs.Name())
		return nil, nil, 2
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "etl %s: %v\n", fs.Name(), err)
		return nil, nil, 2
	}
	s, err := spec.Load(pos[0])
	if s != nil {
		c.file = s.File
	}
	if err != nil {
		c.mistakes(context.Background(), s, err, log, stderr)
		return nil, nil, 1
	}
	return s, log, 0
}

// mistakes says what is wrong with a pipeline file that spec.Load refused:
// its own mistakes and, when it was read far enough (s), those of every
// plugin that can still check its config, in file order.
func (c *common) mistakes(ctx context.Context, s *spec.Spec, err error, log *slog.Logger, stderr io.Writer) {
	var errs spec.Errors
	if s == nil || !errors.As(err, &errs) {
		fmt.Fprintln(stderr, err)
		return
	}
	in, more := engine.Configure(ctx, s, c.host(), log)
	in.Kill()
	errs.Merge(more)
	printMistakes(stderr, errs)
}

// printMistakes lists errs in file order, one a line, and how many.
func printMistakes(w io.Writer, errs spec.Errors) {
	errs.Sort()
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
	if len(errs) > 1 {
		fmt.Fprintf(w, "%d mistakes\n", len(errs))
	}
}

// common are the flags every command that loads plugins takes.
type common struct {
	// file is the pipeline file, whose repository's plugins/bin is on the
	// plugin path.
	file       string
	pluginDirs multiFlag
	logFormat  string
	logLevel   string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.Var(&c.pluginDirs, "plugin-dir", "a folder with etl-plugin-NAME executables, searched before $ETL_PLUGIN_PATH, the pipeline's repository's plugins/bin and the one beside etl's install (repeatable)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, else json)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (c *common) host() *host.Host {
	return &host.Host{Bundled: bundled, Dirs: host.Paths(c.searchPath())}
}

// searchPath is the plugin path: the flags, $ETL_PLUGIN_PATH, the
// pipeline's repository, etl's install (see host.SearchPath).
func (c *common) searchPath() []host.SearchDir { return host.SearchPath(c.pluginDirs, c.file) }

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text, json or auto", c.logFormat)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newFlagSet makes a command's flag set: --help (or -h) prints synopsis
// and the flags to stdout; a flag mistake prints them to stderr.
func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	help := &helpFlag{out: stdout}
	fs.Var(help, "help", "print this help")
	fs.Var(help, "h", "print this help")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\nFlags:\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "help" || f.Name == "h" {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if name != "" {
				line += " " + name
			}
			if f.DefValue != "" && f.DefValue != "false" {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(w, "%s\n      %s\n", line, usage)
		})
	}
	return fs
}

// helpFlag is --help: asked for, the help goes to out.
type helpFlag struct {
	set bool
	out io.Writer
}

func (h *helpFlag) String() string   { return "" }
func (h *helpFlag) IsBoolFlag() bool { return true }
func (h *helpFlag) Set(v string) error {
	h.set = v == "true"
	return nil
}

// parseArgs parses flags placed before or after the positional arguments.
// With --help it prints the help to stdout and returns flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if h, ok := fs.Lookup("help").Value.(*helpFlag); ok && h.set {
			fs.SetOutput(h.out)
			fs.Usage()
			return nil, flag.ErrHelp
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", `Usage: etl run CONFIG [flags]

Runs the pipeline in CONFIG until stopped. The first Ctrl-C (or SIGTERM) stops reading,
commits the batches in flight and exits 0; a second one exits at once (nothing is lost:
uncommitted batches are read again on the next run). While the sink's database is down,
the first Ctrl-C exits at once too, with 0: nothing uncommitted is lost, it is read again.

Without --once it keeps going through faults: a plugin process that dies or hangs is
noticed within seconds and the pipeline is restarted from its checkpoint, with backoff,
up to engine.max_restarts times (default 5) within engine.restart_window (default 10m),
then etl exits 1 naming the plugin and quoting its stderr; a database that is down is
retried for as long as it takes (a WARN once a minute). With --once, either ends the run
(the sink retries its database for its retry.max_time first).

Unless --metrics-addr is empty, it serves on that address:
  /metrics   Prometheus metrics (etl_rows_read_total, etl_rows_written_total,
             etl_rows_rejected_total{error_type}, etl_batches_committed_total,
             etl_batch_duration_seconds, etl_commit_duration_seconds, etl_lag_seconds,
             etl_source_backlog_partitions, etl_source_backlog_bytes,
             etl_plugin_restarts_total{step,plugin}, etl_sink_unavailable, ...)
  /healthz   200 while the process lives
  /readyz    200 while the pipeline is open and running, else 503 (also while a dead
             plugin is restarted and while the sink's database is unavailable)
On a terminal (text logs) it logs a progress line every 5s: rows/s, rejected, lag, backlog.`, stdout, stderr)
	var c common
	c.register(fs)
	once := fs.Bool("once", false, "process everything available now, then exit (for backfills and tests)")
	metricsAddr := fs.String("metrics-addr", metrics.DefaultAddr, "serve /metrics, /healthz and /readyz on this host:port (port 0: any free port); empty turns it off")
	s, log, code := c.load(fs, args, stderr)
	if s == nil {
		return code
	}
	defer host.StartProfile("etl")()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		close(stop)
		<-sigs
		log.Warn("second signal: exiting now; uncommitted batches will be read again next run")
		cancel()
	}()

	stats := &engine.Stats{}
	var m *metrics.Metrics
	if *metricsAddr != "" {
		// Served from the start, so that /healthz answers while the
		// plugins start; /readyz says 503 until the pipeline runs.
		m = metrics.New(s.Name, stats)
		srv, err := metrics.Listen(*metricsAddr, m.Handler())
		if err != nil {
			fmt.Fprintf(stderr, "etl run: --metrics-addr: %v (another etl running? pass another address, or --metrics-addr '' to serve none)\n", err)
			return 1
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Close(ctx); err != nil {
				log.Warn("closing the metrics server", "error", err)
			}
		}()
		log.Info("serving metrics", "addr", srv.Addr())
	}

	in, err := engine.Open(ctx, s, c.host(), log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer in.Kill()
	if err := in.StartWriters(ctx); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log.Info("pipeline started", "pipeline", s.Name, "steps", in.Describe(), "once", *once)
	opts := engine.OptionsOf(s)
	opts.Once = *once
	opts.Logger = log
	if m != nil {
		opts.OnCommit = m.ObserveCommit
	}
	start := time.Now()
	if c.logFormat != "json" && isTerminal(stderr) {
		go progress(ctx, log, stats, 5*time.Second)
	}
	runErr := engine.Supervise(ctx, in, opts, stop, stats)
	if runErr != nil {
		log.Error("pipeline failed", "pipeline", s.Name, "error", runErr.Error())
		return 1
	}
	st := stats.Snapshot()
	elapsed := time.Since(start)
	log.Info("pipeline done", "pipeline", s.Name, "rows_written", st.RowsWritten, "rejected", st.Rejected,
		"batches", st.Batches, "last_batch_id", st.LastBatchID, "elapsed", elapsed.Round(time.Millisecond).String(),
		"rows_per_s", int64(float64(st.RowsRead)/elapsed.Seconds()))
	if err := leftUnread(st); *once && err != nil {
		log.Error("pipeline left input unread", "pipeline", s.Name, "error", err.Error())
		fmt.Fprintf(stderr, "etl run --once: %v\n", err)
		return 1
	}
	return 0
}

// leftUnread names the inputs the source said it cannot read, as of its
// last read: `etl run --once` fails when it leaves any behind.
func leftUnread(st engine.StatsSnapshot) error {
	if st.Backlog == nil || len(st.Backlog.Unreadable) == 0 {
		return nil
	}
	return fmt.Errorf("%d input(s) could not be read and were left in place (fix their permissions and run again): %s",
		len(st.Backlog.Unreadable), strings.Join(st.Backlog.Unreadable, ", "))
}

// progress logs a line every interval: the rate since the last one, the
// totals, the lag and the source's backlog.
func progress(ctx context.Context, log *slog.Logger, stats *engine.Stats, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev, at := stats.Snapshot(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := stats.Snapshot()
			log.Info("progress", progressArgs(prev, s, now.Sub(at), now)...)
			prev, at = s, now
		}
	}
}

// progressArgs are the attributes of a progress line: the rows written per
// second over elapsed, the totals, the lag and the backlog when known.
func progressArgs(prev, s engine.StatsSnapshot, elapsed time.Duration, now time.Time) []any {
	rate := int64(0)
	if elapsed > 0 {
		rate = int64(float64(s.RowsWritten-prev.RowsWritten) / elapsed.Seconds())
	}
	args := []any{"rows_per_s", rate, "rows_written", s.RowsWritten, "rejected", s.Rejected,
		"lag", s.Lag(now).Round(10 * time.Millisecond).String()}
	if s.Backlog != nil {
		args = append(args, "backlog", fmt.Sprintf("%d files, %s", s.Backlog.Partitions, byteSize(s.Backlog.Bytes)))
	}
	return append(args, "last_batch_id", s.LastBatchID)
}

// byteSize writes n bytes for people: "512 B", "12.4 MB".
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), []string{"kB", "MB", "GB", "TB", "PB"}
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, suffix[i])
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", `Usage: etl validate CONFIG [flags]

Checks the pipeline file and asks each plugin to check its own config, every step even
when another has mistakes, then asks the sink to check its destination read-only (for
postgres: connection, tables, columns and their types, privileges; --offline skips this).
Lists every mistake at once, each as file:line:col: key: message. Moves no data, changes
nothing. Exits 0 when valid, 1 listing the mistakes, 2 on a usage error.`, stdout, stderr)
	var c common
	c.register(fs)
	offline := fs.Bool("offline", false, offlineUsage)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "etl validate: want exactly one CONFIG file")
		return 2
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "etl validate:", err)
		return 2
	}
	ctx := context.Background()
	s, err := spec.Load(pos[0])
	var errs spec.Errors
	if err != nil && (s == nil || !errors.As(err, &errs)) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c.file = s.File
	in, more := engine.Configure(ctx, s, c.host(), log)
	defer in.Kill()
	errs.Merge(more)
	checked, more, err := checkDestination(in, *offline)
	if err != nil {
		fmt.Fprintf(stderr, "etl validate: %v\n", err)
		return 1
	}
	errs.Merge(more)
	_ = in.Close(ctx)
	if len(errs) > 0 {
		printMistakes(stderr, errs)
		fmt.Fprint(stderr, checked)
		return 1
	}
	fmt.Fprintf(stdout, "%s: pipeline %q is valid: %s\n", s.File, s.Name, in.Describe())
	for i, sc := range in.Schemas {
		label := "source"
		if i > 0 {
			label = s.Transforms[i-1].Name
		}
		fmt.Fprintf(stdout, "  after %s: %s\n", label, describeSchema(sc))
	}
	fmt.Fprint(stdout, checked)
	return 0
}

func cmdPlugins(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("plugins", `Usage: etl plugins [CONFIG] [NAME] [flags]

Lists every plugin etl can find: bundled ones and etl-plugin-NAME executables on the plugin path,
with the kinds and version each reports, then the folders searched, in order. With CONFIG, the
plugins/bin of that pipeline file's repository is searched too, as etl run CONFIG would.
An executable that someone other than you or root could replace (group- or world-writable, in
such a folder, or owned by another user) is listed as refused, with the reason; it is never
started. Exits 1 when a plugin is refused or does not start.

With NAME, prints that plugin's kinds, version and settings (the keys of its config: block,
as the plugin describes them): name, type, default, whether required, and what each does.
CONFIG is an argument ending in .yaml or .yml or holding a /; any other names a plugin.
--markdown prints the settings as the README's Markdown table, --sample as an example
config: block; --readme FILE rewrites the tables between <!-- settings:NAME --> and
<!-- /settings:NAME --> in FILE.`, stdout, stderr)
	var c common
	c.register(fs)
	markdown := fs.Bool("markdown", false, "with NAME: print the settings as a Markdown table")
	sample := fs.Bool("sample", false, "with NAME: print an example config: block with every setting, commented")
	readme := fs.String("readme", "", "rewrite the settings tables of this Markdown file (e.g. README.md)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var name string
	for _, a := range pos {
		isConfig := strings.HasSuffix(a, ".yaml") || strings.HasSuffix(a, ".yml") || strings.ContainsRune(a, os.PathSeparator)
		if isConfig && c.file == "" {
			if _, err := os.Stat(a); err != nil {
				fmt.Fprintln(stderr, "etl plugins:", err)
				return 1
			}
			c.file = a
		} else if !isConfig && name == "" {
			name = a
		} else {
			fmt.Fprintln(stderr, "etl plugins: want at most one CONFIG file and one plugin NAME")
			return 2
		}
	}
	if (*markdown || *sample) && name == "" {
		fmt.Fprintln(stderr, "etl plugins: --markdown and --sample need a plugin NAME")
		return 2
	}
	searched := c.searchPath()
	h := &host.Host{Bundled: bundled, Dirs: host.Paths(searched)}
	if *readme != "" {
		if err := rewriteReadme(h, *readme); err != nil {
			fmt.Fprintln(stderr, "etl plugins:", err)
			return 1
		}
		return 0
	}
	if name != "" {
		info, loc, err := describePlugin(h, name)
		if err != nil {
			fmt.Fprintln(stderr, "etl plugins:", err)
			return 1
		}
		switch {
		case *markdown:
			fmt.Fprint(stdout, settingsMarkdown(info))
		case *sample:
			fmt.Fprint(stdout, settingsSample(info))
		default:
			writeSettings(stdout, info, loc)
		}
		return 0
	}
	locs, err := h.All()
	code := 0
	if err != nil {
		fmt.Fprintln(stderr, "etl plugins:", err)
		code = 1
	}
	sort.SliceStable(locs, func(i, j int) bool { return locs[i].Bundled && !locs[j].Bundled })
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tWHERE")
	for _, loc := range locs {
		if loc.Refused != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t%s (REFUSED: %s)\n", loc.Name, loc.Where(), refusal(loc.Refused))
			code = 1
			continue
		}
		p, err := host.StartAt(context.Background(), "plugins", loc, host.StartOptions{StartTimeout: 10 * time.Second})
		if err != nil {
			fmt.Fprintf(tw, "%s\t?\t?\t%s (%v)\n", loc.Name, loc.Where(), firstLine(err.Error()))
			code = 1
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", loc.Name, strings.Join(p.Info.Kinds, ","), p.Info.Version, loc.Where())
		p.Kill()
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nPlugin folders searched, in order:")
	tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, d := range searched {
		state := ""
		if st, err := os.Stat(d.Path); err != nil || !st.IsDir() {
			state = " (missing)"
		}
		fmt.Fprintf(tw, "  %s%s\t%s\n", d.Path, state, d.Why)
	}
	tw.Flush()
	return code
}

// refusal is why a plugin is refused, without the "refusing plugin PATH"
// that the listing already says.
func refusal(err error) string {
	var r *host.RefusedError
	if errors.As(err, &r) {
		return r.Reason
	}
	return err.Error()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
