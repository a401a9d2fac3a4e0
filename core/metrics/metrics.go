// Package metrics shows a running pipeline to Prometheus: collectors over
// the engine's Stats and commits, and an HTTP server with /metrics,
// /healthz and /readyz. The engine knows nothing of Prometheus; this
// package reads what the engine exposes.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed-etl/etl/core/engine"
)

// DefaultAddr is where etl run serves its metrics unless told otherwise:
// loopback only.
const DefaultAddr = "127.0.0.1:9108"

// Metrics are the Prometheus metrics of one pipeline run. Every metric
// carries the label pipeline.
type Metrics struct {
	stats    *engine.Stats
	registry *prometheus.Registry

	batchDuration  prometheus.Histogram
	commitDuration prometheus.Histogram
}

// New registers the metrics of a run whose progress stats holds, with the
// Go runtime and process collectors beside them. Commits must be passed
// to ObserveCommit (set it as engine.Options.OnCommit) for the histograms.
func New(pipeline string, stats *engine.Stats) *Metrics {
	m := &Metrics{stats: stats, registry: prometheus.NewRegistry()}
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"pipeline": pipeline}, m.registry)
	m.batchDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "etl_batch_duration_seconds",
		Help:    "Time from the start of a batch's read at the source to the end of its commit at the sink.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14), // 10ms .. 82s
	})
	m.commitDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "etl_commit_duration_seconds",
		Help:    "Time the sink took to commit a batch (its Write, retries included).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1ms .. 33s
	})
	reg.MustRegister(m.batchDuration, m.commitDuration, statsCollector{stats})
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveCommit records a committed batch in the duration histograms.
func (m *Metrics) ObserveCommit(c engine.Commit) {
	m.commitDuration.Observe(c.Duration.Seconds())
	if !c.ReadAt.IsZero() {
		m.batchDuration.Observe(time.Since(c.ReadAt).Seconds())
	}
}

// Gatherer returns the registry the metrics are in.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// Handler serves /metrics, /healthz (200 while the process lives) and
// /readyz (200 while the pipeline is open and running, 503 before and
// after, while it stops, while a dead plugin is restarted, and while the
// sink is unavailable).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		s := m.stats.Snapshot()
		if s.SinkUnavailable {
			http.Error(w, "not ready: the sink is unavailable (its database is down?); retrying", http.StatusServiceUnavailable)
			return
		}
		if !s.Ready() {
			http.Error(w, "not ready: the pipeline is not running", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Server is an HTTP server on one address.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen listens on addr (host:port; port 0 picks a free one) and serves
// h there until Close.
func Listen(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting requests in progress finish until ctx
// ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("stop serving metrics on %s: %w", s.Addr(), err)
	}
	return nil
}

// The metrics read from engine.Stats, all from one snapshot per scrape so
// that they agree with each other.
var (
	descRowsRead = prometheus.NewDesc("etl_rows_read_total",
		"Rows the source returned (rows only; inputs the source refused count in etl_rows_rejected_total once committed).", nil, nil)
	descBytesRead = prometheus.NewDesc("etl_bytes_read_total",
		"Bytes of rows the source returned, in the engine's batch encoding.", nil, nil)
	descRowsWritten = prometheus.NewDesc("etl_rows_written_total",
		"Rows handed to the sink in committed batches. A row the sink itself refuses at commit (postgres: DB_REJECTED, stored in corrupt_records) counts here, not in etl_rows_rejected_total.", nil, nil)
	descRejected = prometheus.NewDesc("etl_rows_rejected_total",
		"Rejects committed to the sink (by the source and the transforms), by error type.", []string{"error_type"}, nil)
	descBatches = prometheus.NewDesc("etl_batches_committed_total",
		"Batches committed by the sink.", nil, nil)
	descLastBatch = prometheus.NewDesc("etl_last_batch_id",
		"Id of the last committed batch (ids go on across runs).", nil, nil)
	descInFlight = prometheus.NewDesc("etl_batches_in_flight",
		"Batches read and not yet committed.", nil, nil)
	descLag = prometheus.NewDesc("etl_lag_seconds",
		"End-to-end lag: age of the oldest input read and not yet committed (from the start of its read); 0 when nothing is in flight.", nil, nil)
	descBacklogPartitions = prometheus.NewDesc("etl_source_backlog_partitions",
		"Partitions the source holds with input not read yet (for csvdir: files waiting, the one being read included), as of its last read. Absent when the source cannot tell.", nil, nil)
	descBacklogBytes = prometheus.NewDesc("etl_source_backlog_bytes",
		"Bytes of input the source holds not read yet, as of its last read. Absent when the source cannot tell.", nil, nil)
	descPartitionLag = prometheus.NewDesc("etl_source_partition_lag_messages",
		"Messages of each partition the source owns that wait beyond the position read (Kafka: high watermark minus the next offset), as of its last read. Absent when the source cannot tell.", []string{"partition"}, nil)
	descQuarantined = prometheus.NewDesc("etl_source_quarantined_total",
		"Partitions the source set aside because their input changed under it (csvdir: files that shrank or whose bytes already read changed, moved to quarantine_path).", nil, nil)
	descUnreadable = prometheus.NewDesc("etl_source_unreadable_partitions",
		"Inputs the source cannot read now and left in place (csvdir: files without read permission), as of its last read.", nil, nil)
	descRunning = prometheus.NewDesc("etl_pipeline_running",
		"1 while the pipeline is open and reading (what /readyz answers), else 0.", nil, nil)
	descRestarts = prometheus.NewDesc("etl_plugin_restarts_total",
		"Restarts of the pipeline's plugin processes by etl run, by the step and plugin whose process died or hung (each restart reopens the whole pipeline from the sink's checkpoint).", []string{"step", "plugin"}, nil)
	descUnavailable = prometheus.NewDesc("etl_sink_unavailable",
		"1 while the sink reports its database unreachable and etl retries it (the pipeline is not ready meanwhile), else 0.", nil, nil)
)

// statsCollector turns a Stats snapshot into metrics at each scrape.
type statsCollector struct{ stats *engine.Stats }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRowsRead, descBytesRead, descRowsWritten, descRejected, descBatches, descLastBatch,
		descInFlight, descLag, descBacklogPartitions, descBacklogBytes, descPartitionLag, descQuarantined, descUnreadable, descRunning, descRestarts, descUnavailable} {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats.Snapshot()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(descRowsRead, s.RowsRead)
	counter(descBytesRead, s.BytesRead)
	counter(descRowsWritten, s.RowsWritten)
	types := make([]string, 0, len(s.RejectedByType))
	for t := range s.RejectedByType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		counter(descRejected, s.RejectedByType[t], t)
	}
	counter(descBatches, s.Batches)
	keys := make([]engine.StepPlugin, 0, len(s.Restarts))
	for k := range s.Restarts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].Step < keys[j].Step || keys[i].Step == keys[j].Step && keys[i].Plugin < keys[j].Plugin
	})
	for _, k := range keys {
		counter(descRestarts, s.Restarts[k], k.Step, k.Plugin)
	}
	gauge(descLastBatch, float64(s.LastBatchID))
	gauge(descInFlight, float64(s.InFlight))
	gauge(descLag, s.Lag(time.Now()).Seconds())
	if s.Backlog != nil {
		gauge(descBacklogPartitions, float64(s.Backlog.Partitions))
		gauge(descBacklogBytes, float64(s.Backlog.Bytes))
		gauge(descUnreadable, float64(len(s.Backlog.Unreadable)))
		for _, l := range s.Backlog.Lag {
			ch <- prometheus.MustNewConstMetric(descPartitionLag, prometheus.GaugeValue, float64(l.Messages), l.Partition)
		}
	}
	counter(descQuarantined, s.Quarantined)
	running := 0.0
	if s.Running {
		running = 1
	}
	gauge(descRunning, running)
	unavailable := 0.0
	if s.SinkUnavailable {
		unavailable = 1
	}
	gauge(descUnavailable, unavailable)
}
