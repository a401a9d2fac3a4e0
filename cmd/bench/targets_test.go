package main

import (
	"strings"
	"testing"
)

func TestJudgeTargets(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	// contenders: etl at x rows/s and pg us/row, psql 2 streams at pg2.
	mk := func(x float64, cpuSeconds float64, pg, pg2 *float64, p99 float64, pssMB float64) *results {
		return &results{
			Throughput: &throughputResult{InputRows: 1_000_000, CPUSeconds: cpuSeconds, PSSPeakBytes: int64(pssMB * 1e6)},
			Contenders: []contender{
				{Name: nameETL, XPsql: x, PGCPUPerRowUS: pg},
				{Name: namePsql1, XPsql: 1},
				{Name: namePsql2, XPsql: 1.5, PGCPUPerRowUS: pg2},
			},
			Latency: &latencyResult{P99MS: p99},
		}
	}
	for _, tc := range []struct {
		name string
		r    *results
		want map[string]string // target name -> verdict
	}{
		{"all met", mk(1.7, 1.2, f(7), f(7.5), 240, 140), map[string]string{
			tXPsql: "PASS", tCPU: "PASS", tPGCPU: "PASS", tP99: "PASS", tResident: "PASS"}},
		{"at the limits", mk(1.6, 1.5, f(7.5), f(7.5), 250, 150), map[string]string{
			tXPsql: "PASS", tCPU: "PASS", tPGCPU: "PASS", tP99: "PASS", tResident: "PASS"}},
		{"all missed (issue 18's before)", mk(1.05, 3.7, f(8.7), f(7.7), 321, 151), map[string]string{
			tXPsql: "MISS", tCPU: "MISS", tPGCPU: "MISS", tP99: "MISS", tResident: "MISS"}},
		{"PostgreSQL's CPU unknown", mk(1.7, 1.2, nil, nil, 240, 140), map[string]string{
			tXPsql: "PASS", tCPU: "PASS", tPGCPU: "not measured", tP99: "PASS", tResident: "PASS"}},
		{"no latency run", &results{Throughput: &throughputResult{InputRows: 10, CPUSeconds: 1},
			Contenders: []contender{{Name: nameETL, XPsql: 2}}}, map[string]string{
			tXPsql: "PASS", tCPU: "MISS", tPGCPU: "not measured", tResident: "PASS"}},
		{"latency only", &results{Latency: &latencyResult{P99MS: 100}}, map[string]string{tP99: "PASS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, tg := range judge(tc.r) {
				got[tg.Name] = tg.verdict()
				if tg.NotMeasured && tg.Pass {
					t.Errorf("%s: not measured yet passed", tg.Name)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("targets %v, want %v", got, tc.want)
			}
			for name, v := range tc.want {
				if got[name] != v {
					t.Errorf("%s: %q, want %q", name, got[name], v)
				}
			}
		})
	}
}

func TestJudgeCPUPerInputRow(t *testing.T) {
	r := &results{Throughput: &throughputResult{InputRows: 2_000_000, CPUSeconds: 3}, Contenders: []contender{{Name: nameETL}}}
	for _, tg := range judge(r) {
		if tg.Name == tCPU && tg.Value != 1.5 {
			t.Errorf("CPU per input row = %v us, want 1.5 (3 s over 2,000,000 rows)", tg.Value)
		}
	}
}

func TestSummarizeMedians(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	runs := []contenderRun{
		{RowsPerS: 100, CPUSeconds: 3, PGCPUSeconds: f(9)},
		{RowsPerS: 300, CPUSeconds: 1, PGCPUSeconds: f(7)},
		{RowsPerS: 200, CPUSeconds: 2, PGCPUSeconds: f(8)},
	}
	c := summarize("x", 1_000_000, runs)
	if c.RowsPerS != 200 || c.CPUSeconds != 2 || c.CPUPerRowUS != 2 || *c.PGCPUSeconds != 8 || *c.PGCPUPerRowUS != 8 || len(c.Rounds) != 3 {
		t.Errorf("summarize = %+v, want each figure's median: 200 rows/s, 2 s (2 us/row), PostgreSQL 8 s (8 us/row)", c)
	}
	runs[1].PGCPUSeconds = nil
	if c := summarize("x", 1_000_000, runs); c.PGCPUSeconds != nil || c.PGCPUPerRowUS != nil {
		t.Errorf("one round without PostgreSQL's CPU: got %v, want unknown", *c.PGCPUSeconds)
	}
}

func TestPgloaderCommand(t *testing.T) {
	for _, tc := range []struct {
		name, csv, dsn string
		want           []string // lines the command must hold
		err            bool
	}{
		{"local DSN", "/tmp/etl-bench-1/clean.csv", "postgres://postgres@127.0.0.1:5432/bench_ab12?sslmode=disable", []string{
			"LOAD CSV",
			"FROM '/tmp/etl-bench-1/clean.csv' (" + eventColumns + ")",
			"INTO postgresql://postgres@127.0.0.1:5432/bench_ab12?sslmode=disable",
			"TARGET TABLE events",
			"TARGET COLUMNS (" + eventColumns + ")",
			"WITH fields terminated by ',',",
			`fields optionally enclosed by '"',`,
			"fields escaped by double-quote;",
		}, false},
		{"other parameters dropped, password kept", "/x.csv", "postgresql://u:pw@db:6543/d?application_name=a&sslmode=require", []string{
			"INTO postgresql://u:pw@db:6543/d?sslmode=require",
		}, false},
		{"no parameters", "/x.csv", "postgres://u@h/d", []string{"INTO postgresql://u@h/d"}, false},
		{"quote in the path", "/tmp/it's/clean.csv", "postgres://u@h/d", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pgloaderCommand(tc.csv, tc.dsn)
			if tc.err {
				if err == nil {
					t.Errorf("no error; command:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := map[string]bool{}
			for l := range strings.SplitSeq(got, "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, w := range tc.want {
				if !lines[w] {
					t.Errorf("no line %q in:\n%s", w, got)
				}
			}
		})
	}
}
