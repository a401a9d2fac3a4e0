package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/metrics"
)

func TestEndpoints(t *testing.T) {
	m := metrics.New("shop", &engine.Stats{})
	h := m.Handler()
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/healthz", http.StatusOK, "ok"},
		{"GET", "/readyz", http.StatusServiceUnavailable, "not ready"}, // no run yet
		{"GET", "/metrics", http.StatusOK, `etl_rows_written_total{pipeline="shop"} 0`},
		{"GET", "/metrics", http.StatusOK, `etl_sink_unavailable{pipeline="shop"} 0`},
		{"GET", "/metrics", http.StatusOK, `etl_lag_seconds{pipeline="shop"} 0`},
		{"GET", "/metrics", http.StatusOK, `etl_pipeline_running{pipeline="shop"} 0`},
		{"GET", "/metrics", http.StatusOK, "go_goroutines"},
		{"GET", "/nothing", http.StatusNotFound, ""},
		{"POST", "/healthz", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%d %q, want %d with %q", rec.Code, firstLines(rec.Body.String()), tt.code, tt.body)
			}
		})
	}
}

func TestMetricsPassLint(t *testing.T) {
	m := metrics.New("shop", &engine.Stats{})
	m.ObserveCommit(engine.Commit{BatchID: 1, ReadAt: time.Now().Add(-time.Second), Duration: 20 * time.Millisecond})
	problems, err := testutil.GatherAndLint(m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "etl_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	if n, err := testutil.GatherAndCount(m.Gatherer(), "etl_commit_duration_seconds", "etl_batch_duration_seconds"); err != nil || n != 2 {
		t.Errorf("histograms: %d series (%v), want 2", n, err)
	}
}

func TestServerListensOnlyWhereTold(t *testing.T) {
	s, err := metrics.Listen("127.0.0.1:0", metrics.New("shop", &engine.Stats{}).Handler())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("listening on %s, want 127.0.0.1", s.Addr())
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
	if _, err := metrics.Listen(s.Addr(), http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("a second server on %s: %v, want an error naming the address", s.Addr(), err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t.Error("still answering after Close")
	}
}

func firstLines(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
