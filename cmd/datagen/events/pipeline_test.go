package events

import (
	"sort"
	"testing"
	"time"
)

// TestPredictedOutcomesMatchPipeline runs generated files through the real
// csvdir source and the real cleanser, configured as in
// configs/ecommerce.yaml, and checks every line: accepted as exactly the
// predicted Event, or rejected with the predicted error type.
func TestPredictedOutcomesMatchPipeline(t *testing.T) {
	cases := []struct {
		name  string
		seed  int64
		rates map[string]float64
		start time.Time // zero: the wall clock
		step  time.Duration
		rows  int
		files int
	}{
		{"every kind often, simulated clock", 1, allRates(0.06), testStart, 3 * time.Millisecond, 5000, 4},
		{"every kind often, wall clock", 2, allRates(0.06), time.Time{}, 0, 5000, 2},
		{"default rates", 3, nil, testStart, time.Millisecond, 10000, 2},
		{"all dirty, other seed", 4, allRates(1.0 / 14), testStart.Add(-24 * 365 * time.Hour), time.Second, 3000, 2},
		{"near 2000-01-01", 5, allRates(0.05), time.Date(2000, 1, 1, 0, 0, 30, 0, time.UTC), time.Millisecond, 2000, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			g := New(Config{Seed: tc.seed, Rates: tc.rates, Users: 2000, Products: 300})
			gen := writeFiles(t, g, dir, tc.files, tc.rows, tc.start, tc.step)
			res := runPipeline(t, dir)

			if got, want := len(res.accepted)+len(res.rejected), len(gen.outcomes); got != want {
				t.Errorf("pipeline saw %d rows and rejects, generated %d", got, want)
			}
			type tally struct{ want, got int }
			byType := map[string]*tally{}
			count := func(typ string) *tally {
				if byType[typ] == nil {
					byType[typ] = &tally{}
				}
				return byType[typ]
			}
			failures := 0
			fail := func(format string, args ...any) {
				failures++
				if failures <= 30 {
					t.Errorf(format, args...)
				}
			}
			kinds := map[string]int{}
			for _, key := range gen.order {
				o := gen.outcomes[key]
				kinds[o.Kind]++
				typ := "ACCEPTED"
				if !o.Accept {
					typ = o.ErrorType
				}
				count(typ).want++
				got, accepted := res.accepted[key]
				rj, rejected := res.rejected[key]
				switch {
				case accepted:
					count("ACCEPTED").got++
				case rejected:
					count(rj.ErrorType).got++
				}
				switch {
				case o.Accept && !accepted:
					fail("%s (%s) %q: want accepted, got %s: %s", key, o.Kind, gen.lines[key], rj.ErrorType, rj.Reason)
				case o.Accept && !sameEvent(got, o.Want):
					fail("%s (%s) %q:\n got %+v\nwant %+v", key, o.Kind, gen.lines[key], got, o.Want)
				case !o.Accept && !rejected:
					fail("%s (%s) %q: want rejected as %s, got accepted as %+v", key, o.Kind, gen.lines[key], o.ErrorType, got)
				case !o.Accept && rj.ErrorType != o.ErrorType:
					fail("%s (%s) %q: want rejected as %s, got %s: %s", key, o.Kind, gen.lines[key], o.ErrorType, rj.ErrorType, rj.Reason)
				}
			}
			types := make([]string, 0, len(byType))
			for typ := range byType {
				types = append(types, typ)
			}
			sort.Strings(types)
			for _, typ := range types {
				c := byType[typ]
				if c.got != c.want {
					t.Errorf("%s: pipeline %d, predicted %d", typ, c.got, c.want)
				}
			}
			if failures > 30 {
				t.Errorf("... %d mismatches in all", failures)
			}
			// Every kind with a rate must have been exercised.
			for _, k := range Kinds {
				if tc.rates != nil && tc.rates[k.Name] > 0 && kinds[k.Name] == 0 {
					t.Errorf("kind %s never generated", k.Name)
				}
			}
			t.Logf("%d lines: %v", len(gen.order), kinds)
		})
	}
}
