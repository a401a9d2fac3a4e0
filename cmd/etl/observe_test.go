package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/seed-etl/etl/cmd/datagen/events"
	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/host/hosttest"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// scrape is one read of /metrics: each sample by name and labels, e.g.
// `etl_rows_rejected_total{error_type="TOO_LONG"}` (the pipeline label
// left out).
type scrape map[string]float64

func getMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := scrape{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			key := name + labelText(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+labelText(m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func labelText(labels []*dto.LabelPair) string {
	var parts []string
	for _, l := range labels {
		if l.GetName() != "pipeline" {
			parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// rejectedByType returns the etl_rows_rejected_total samples by error type.
func (s scrape) rejectedByType() map[string]int64 {
	out := map[string]int64{}
	re := regexp.MustCompile(`^etl_rows_rejected_total\{error_type="(.*)"\}$`)
	for k, v := range s {
		if m := re.FindStringSubmatch(k); m != nil {
			out[m[1]] = int64(v)
		}
	}
	return out
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond until it holds, failing the test with what after a
// generous bound (a hang, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dbCounts reads what the pipeline committed: the rows of events, the
// rejects by error type and the last batch id.
func dbCounts(t *testing.T, dsn string) (rows int64, rejects map[string]int64, lastBatch int64) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(batch_id), 0) FROM etl_offsets WHERE pipeline = 'ecommerce'`).Scan(&lastBatch); err != nil {
		t.Fatal(err)
	}
	return rows, rejectsByType(t, conn), lastBatch
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsDuringRunEqualTheDatabase runs `etl run configs/ecommerce.yaml`
// as a process while datagen writes files, scrapes /metrics as it goes,
// and checks that once everything is in, the counters equal what is in
// PostgreSQL: rows written = events, rejected by error type =
// corrupt_records by error type, batches = the last batch id.
func TestMetricsDuringRunEqualTheDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	dir := t.TempDir()
	inbox, archive := filepath.Join(dir, "events"), filepath.Join(dir, "archive")
	logs := filepath.Join(dir, "etl.log")
	logFile, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	marker := fmt.Sprintf("ETL_METRICS_MARKER=%d", time.Now().UnixNano())
	cmd := exec.Command(os.Args[0], "run", "../../configs/ecommerce.yaml", "--metrics-addr", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = append(os.Environ(), runAsEtl+"=1", marker, host.ExtraEnv+"=ETL_METRICS_MARKER", "DATABASE_URL="+dsn, "EVENTS_DIR="+inbox, "ARCHIVE_DIR="+archive)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		hosttest.WaitForNoProcess(marker, 5*time.Second)
	}()
	tail := func() string {
		b, _ := os.ReadFile(logs)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		return string(b)
	}

	// The address etl listens on, from its log.
	var addr string
	waitFor(t, "etl to log its metrics address", func() bool {
		addr = metricsAddrFromLog(logs)
		return addr != ""
	})
	if code := httpStatus(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", code)
	}
	waitFor(t, "/readyz to answer 200", func() bool {
		return httpStatus(t, "http://"+addr+"/readyz") == http.StatusOK
	})

	// datagen writes while etl runs; /metrics is scraped meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := startDatagen(ctx, t, events.Options{Dir: inbox, Files: 8, RowsPerFile: 700, Interval: 150 * time.Millisecond,
		ManifestPath: filepath.Join(dir, "manifest.json"), Config: events.Config{Seed: 42}, LogEvery: -1})
	var m *events.Manifest
	scrapes := 0
	for m == nil {
		s := getMetrics(t, addr)
		scrapes++
		if s["etl_pipeline_running"] != 1 {
			t.Errorf("etl_pipeline_running %v during the run, want 1", s["etl_pipeline_running"])
		}
		select {
		case r := <-produced:
			m = r.manifest(t)
		case err := <-exited:
			t.Fatalf("etl exited during the run: %v; log:\n%s", err, tail())
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Everything datagen wrote is in once the counters add up to its rows
	// and nothing is in flight or waiting.
	var final scrape
	waitFor(t, "etl to take in every row", func() bool {
		final = getMetrics(t, addr)
		return int64(final["etl_rows_written_total"])+sumValues(final.rejectedByType()) == m.Rows &&
			final["etl_batches_in_flight"] == 0 && final["etl_source_backlog_partitions"] == 0
	})
	rows, rejects, lastBatch := dbCounts(t, dsn)
	if got := int64(final["etl_rows_written_total"]); got != rows {
		t.Errorf("etl_rows_written_total %d, events holds %d rows", got, rows)
	}
	if got := final.rejectedByType(); !sameCounts(got, rejects) {
		t.Errorf("etl_rows_rejected_total by error_type %v, corrupt_records by error_type %v", got, rejects)
	}
	if got := int64(final["etl_batches_committed_total"]); got != lastBatch || got == 0 {
		t.Errorf("etl_batches_committed_total %d, the last batch id in etl_offsets %d (one run on a fresh database)", got, lastBatch)
	}
	for _, name := range []string{"etl_commit_duration_seconds_count", "etl_batch_duration_seconds_count"} {
		if got := final[name]; got != final["etl_batches_committed_total"] {
			t.Errorf("%s %v, want one per committed batch (%v)", name, got, final["etl_batches_committed_total"])
		}
	}
	if got := int64(final["etl_rows_read_total"]); got < rows {
		t.Errorf("etl_rows_read_total %d < rows written %d", got, rows)
	}
	for name, want := range map[string]float64{"etl_lag_seconds": 0, "etl_source_backlog_bytes": 0, "etl_sink_unavailable": 0, "etl_last_batch_id": float64(lastBatch)} {
		if got, ok := final[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// Every step has its restart count from the start, 0 in a run without faults.
	for _, key := range []string{`{plugin="csvdir",step="source"}`, `{plugin="cleanser",step="clean"}`, `{plugin="postgres",step="sink"}`, `{plugin="postgres",step="sink#2"}`} {
		if got, ok := final["etl_plugin_restarts_total"+key]; !ok || got != 0 {
			t.Errorf("etl_plugin_restarts_total%s = %v (present %v), want 0", key, got, ok)
		}
	}

	// SIGTERM drains and exits 0; /readyz never said 200 before the
	// pipeline ran (checked in core/metrics), and the process is gone now.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("etl after SIGTERM: %v; log:\n%s", err, tail())
	}
	t.Logf("%d scrapes; %d rows written, rejects %v, %d batches", scrapes, rows, rejects, lastBatch)
}

func sumValues(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// metricsAddrFromLog finds the address of etl's "serving metrics" line.
func metricsAddrFromLog(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving metrics" {
			return line.Addr
		}
	}
	return ""
}

// TestStatusAfterRunOnce runs `etl run --once` over datagen's files, adds
// more files, and checks that `etl status` tells the last batch, the files
// done and waiting (with their bytes) and the rejects by type as the
// database and the folder hold them.
func TestStatusAfterRunOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	dir := t.TempDir()
	inbox, archive := filepath.Join(dir, "events"), filepath.Join(dir, "archive")
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("EVENTS_DIR", inbox)
	t.Setenv("ARCHIVE_DIR", archive)
	config := "../../configs/ecommerce.yaml"

	// Before any run: nothing committed, nothing waiting.
	code, stdout, stderr := etl(t, "status", config)
	if code != 0 {
		t.Fatalf("etl status before any run: exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"last batch: none committed", "files: 0 done, 0 in progress, 0 waiting (0 B not read)", "rejected: 0"} {
		if !strings.Contains(squeeze(stdout), want) {
			t.Errorf("status before any run lacks %q; got:\n%s", want, stdout)
		}
	}

	gen := func(files int, seed int64) {
		t.Helper()
		_, err := events.Run(context.Background(), events.Options{Dir: inbox, Files: files, RowsPerFile: 400,
			ManifestPath: filepath.Join(dir, fmt.Sprintf("manifest-%d.json", seed)), Config: events.Config{Seed: seed}, LogEvery: -1}, t.Logf)
		if err != nil {
			t.Fatalf("datagen: %v", err)
		}
	}
	gen(3, 1)
	if code, _, stderr := etl(t, "run", config, "--once", "--metrics-addr", "", "--log-format", "json"); code != 0 {
		t.Fatalf("etl run --once: exit %d; stderr:\n%s", code, stderr)
	}
	gen(2, 2)
	var waitingBytes int64
	waiting, _ := filepath.Glob(filepath.Join(inbox, "*.csv"))
	for _, f := range waiting {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		waitingBytes += fi.Size()
	}
	if len(waiting) != 2 {
		t.Fatalf("%d files in the inbox after the run and datagen, want the 2 new ones", len(waiting))
	}

	code, stdout, stderr = etl(t, "status", config)
	if code != 0 {
		t.Fatalf("etl status: exit %d; stderr:\n%s", code, stderr)
	}
	t.Logf("etl status:\n%s", stdout)
	_, rejects, lastBatch := dbCounts(t, dsn)
	want := []string{
		"pipeline: ecommerce",
		fmt.Sprintf("last batch: %d, committed ", lastBatch),
		fmt.Sprintf("files: 3 done, 0 in progress, 2 waiting (%s not read)", byteSize(waitingBytes)),
		fmt.Sprintf("rejected: %d", sumValues(rejects)),
	}
	for typ, n := range rejects {
		want = append(want, fmt.Sprintf("  %s %d", typ, n))
	}
	for _, w := range want {
		if !strings.Contains(squeeze(stdout), squeeze(w)) {
			t.Errorf("etl status lacks %q; got:\n%s", w, stdout)
		}
	}
	if len(rejects) == 0 {
		t.Error("datagen's files made no rejects: the test checks nothing by type")
	}
	// Status read only: the waiting files are still there, unread.
	if left, _ := filepath.Glob(filepath.Join(inbox, "*.csv")); len(left) != 2 {
		t.Errorf("etl status moved files: %d left in the inbox, want 2", len(left))
	}
}

// squeeze collapses runs of spaces, so that column widths do not matter.
func squeeze(s string) string {
	return regexp.MustCompile(` +`).ReplaceAllString(s, " ")
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {79012, "79.0 kB"}, {12_400_000, "12.4 MB"}, {3_000_000_000, "3.0 GB"},
	}
	for _, tt := range tests {
		if got := byteSize(tt.n); got != tt.want {
			t.Errorf("byteSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestWriteStatusSaysWhatIsUnknown: what a plugin cannot tell is written
// as unknown, never as zero.
func TestWriteStatusSaysWhatIsUnknown(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   engine.Status
		want []string
	}{
		{"nothing known", engine.Status{}, []string{"last batch: none committed", "files: 0 done, 0 in progress, waiting unknown", "rejected: unknown"}},
		{"no commit time", engine.Status{BatchID: 7, Done: 2, Started: 1}, []string{"last batch: 7 (commit time unknown)", "files: 2 done, 1 in progress"}},
		{"everything", engine.Status{BatchID: 7, CommittedAt: now.Add(-90 * time.Second), Backlog: &plugin.Backlog{Partitions: 1, Bytes: 2500},
			Rejects: map[string]int64{"TOO_LONG": 2, "": 1}},
			[]string{"last batch: 7, committed 2026-11-25T09:58:30Z (1m30s ago)", "1 waiting (2.5 kB not read)", "rejected: 3", "(no type) 1", "TOO_LONG 2"}}, {"broker partitions with lag", engine.Status{BatchID: 9, Started: 2,
			Positions: []record.Position{{Partition: "events/0", Offset: 120}, {Partition: "events/1", Offset: 80}},
			Backlog:   &plugin.Backlog{Partitions: 3, Lag: []plugin.PartitionLag{{Partition: "events/0", Messages: 5}, {Partition: "events/1", Messages: 0}, {Partition: "events/2", Messages: 40}}}},
			[]string{"partitions: 2 committed, 45 messages behind in all", "events/0 next offset 120, 5 behind", "events/1 next offset 80, 0 behind", "events/2 nothing committed, 40 behind"}},
		{"brokers down", engine.Status{BatchID: 9, Started: 1, Positions: []record.Position{{Partition: "events/0", Offset: 120}},
			BacklogUnavailable: errors.New("source: tell its backlog: brokers 127.0.0.1:9092 unreachable")},
			[]string{"partitions: 1 committed", "events/0 next offset 120", "lag: unknown: source: tell its backlog: brokers 127.0.0.1:9092 unreachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeStatus(&b, "shop", tt.st, now)
			for _, w := range tt.want {
				if !strings.Contains(squeeze(b.String()), w) {
					t.Errorf("lacks %q; got:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	prev := engine.StatsSnapshot{RowsWritten: 1000}
	tests := []struct {
		name string
		s    engine.StatsSnapshot
		want string
	}{
		{"idle, backlog unknown", engine.StatsSnapshot{RowsWritten: 1000, LastBatchID: 3},
			"msg=progress rows_per_s=0 rows_written=1000 rejected=0 lag=0s last_batch_id=3"},
		{"busy", engine.StatsSnapshot{RowsWritten: 51000, Rejected: 12, LastBatchID: 9, OldestRead: now.Add(-1234 * time.Millisecond),
			Backlog: &plugin.Backlog{Partitions: 3, Bytes: 12_400_000}},
			`msg=progress rows_per_s=10000 rows_written=51000 rejected=12 lag=1.23s backlog="3 files, 12.4 MB" last_batch_id=9`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
					return slog.Attr{}
				}
				return a
			}}))
			log.Info("progress", progressArgs(prev, tt.s, 5*time.Second, now)...)
			if got := strings.TrimSpace(b.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
