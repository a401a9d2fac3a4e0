package main

import "fmt"

// Targets of issue 18.
const (
	targetXPsql      = 1.6   // rows/s into events over psql's single stream
	targetCPUPerRow  = 1.5   // us of etl and plugins CPU per input row
	targetP99MS      = 250.0 // at 20,000 events/s
	targetResidentMB = 150.0 // summed PSS of etl and its plugins
)

// Names of the targets, as printed and in the JSON.
const (
	tXPsql    = "rows/s into events, x psql 1 stream"
	tCPU      = "etl + plugins CPU per input row (us)"
	tPGCPU    = "PostgreSQL CPU per row, etl (us)"
	tP99      = "latency p99 (ms)"
	tResident = "peak resident together (MB)"
)

// target is one target of the issue and how the run did. A target that
// could not be measured (PostgreSQL's CPU of a remote server) is not
// passed.
type target struct {
	Name        string  `json:"name"`
	Value       float64 `json:"value"`
	Want        string  `json:"want"`
	Pass        bool    `json:"pass"`
	NotMeasured bool    `json:"not_measured,omitempty"`
}

// verdict is what the table prints for t.
func (t target) verdict() string {
	switch {
	case t.NotMeasured:
		return "not measured"
	case t.Pass:
		return "PASS"
	}
	return "MISS"
}

// judge returns the targets of issue 18 the measures of r allow.
func judge(r *results) []target {
	var ts []target
	if c := contenderNamed(r.Contenders, nameETL); c != nil && r.Throughput != nil {
		ts = append(ts, target{Name: tXPsql, Value: c.XPsql,
			Want: fmt.Sprintf(">= %.1f", targetXPsql), Pass: c.XPsql >= targetXPsql})
		perInput := perRowUS(r.Throughput.CPUSeconds, r.Throughput.InputRows)
		ts = append(ts, target{Name: tCPU, Value: perInput,
			Want: fmt.Sprintf("<= %.1f us", targetCPUPerRow), Pass: perInput <= targetCPUPerRow})
		pg := target{Name: tPGCPU, Want: "<= psql 2 streams'"}
		if two := contenderNamed(r.Contenders, namePsql2); two != nil && c.PGCPUPerRowUS != nil && two.PGCPUPerRowUS != nil {
			pg.Value = *c.PGCPUPerRowUS
			pg.Want = fmt.Sprintf("<= %.2f us (psql 2 str.)", *two.PGCPUPerRowUS)
			pg.Pass = *c.PGCPUPerRowUS <= *two.PGCPUPerRowUS
		} else {
			pg.NotMeasured = true
		}
		ts = append(ts, pg)
	}
	if r.Latency != nil {
		ts = append(ts, target{Name: tP99, Value: r.Latency.P99MS,
			Want: fmt.Sprintf("<= %.0f ms", targetP99MS), Pass: r.Latency.P99MS <= targetP99MS})
	}
	if r.Throughput != nil {
		together := float64(r.Throughput.PSSPeakBytes) / 1e6
		ts = append(ts, target{Name: tResident, Value: together,
			Want: fmt.Sprintf("<= %.0f MB", targetResidentMB), Pass: together <= targetResidentMB})
	}
	return ts
}

// contenderNamed returns the contender called name, or nil.
func contenderNamed(cs []contender, name string) *contender {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}
