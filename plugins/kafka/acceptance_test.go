package kafka

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
	"github.com/seed-etl/etl/core/record"
)

// engineSide is the source as the engine drives a Rebalancer: the
// positions given to Open are those of the sink, handed to Assign when the
// group assigns partitions, and revoked partitions are released at once
// (the suite has no batches in flight). Each instance joins a group of its
// own, so that an instance the suite throws away (its crash check) does not
// hold partitions until its session expires; positions come only from
// the sink, so the group does not matter to what is read.
type engineSide struct {
	*Source
	positions []record.Position
}

var suiteGroups atomic.Int64

// Configure gives the instance a group of its own.
func (e *engineSide) Configure(ctx context.Context, cfg plugin.Config) (record.Schema, error) {
	cfg.Raw = fmt.Appendf(append([]byte{}, cfg.Raw...), "\ngroup: suite-%d\n", suiteGroups.Add(1))
	return e.Source.Configure(ctx, cfg)
}

// Open keeps positions for Assign.
func (e *engineSide) Open(ctx context.Context, positions []record.Position) error {
	e.positions = positions
	return e.Source.Open(ctx, positions)
}

// Read answers Assigned and Revoked as the engine does.
func (e *engineSide) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	res, err := e.Source.Read(ctx, req)
	if err != nil {
		return res, err
	}
	if len(res.Assigned) > 0 {
		if err := e.Assign(ctx, res.Assigned, e.positions); err != nil {
			return res, err
		}
	}
	if len(res.Revoked) > 0 {
		if err := e.Release(ctx, res.Revoked); err != nil {
			return res, err
		}
	}
	return res, nil
}

// TestAcceptance runs the plugin acceptance suite on the source, driven
// as the engine drives a Rebalancer (see engineSide): each check gets a
// topic of three partitions on its own kfake cluster, and each Produce
// writes messages to them in turn, every fifth with a field too many.
func TestAcceptance(t *testing.T) {
	plugintest.SourceSuite{
		New: func() plugin.Source { return &engineSide{Source: New()} },
		Input: func(t testing.TB) plugintest.SourceInput {
			addr := newCluster(t, "events", 3)
			n := 0
			return plugintest.SourceInput{
				Config: fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [id, name]\n", addr),
				Produce: func(t testing.TB, count int) []string {
					var msgs []message
					var texts []string
					for range count {
						n++
						v := fmt.Sprintf("%d,name %d", n, n)
						if n%5 == 0 {
							v += ",a field too many"
						}
						msgs = append(msgs, message{partition: int32(n % 3), value: v})
						texts = append(texts, v)
					}
					produce(t, addr, "events", msgs...)
					return texts
				},
			}
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "no brokers", Config: "topics: [events]\ncolumns: [a]\n", Paths: []string{"brokers"}},
			{Name: "topics and regex", Config: "brokers: [h:1]\ntopics: [e]\ntopic_regex: x\ncolumns: [a]\n", Paths: []string{"topic_regex"}},
			{Name: "bad start", Config: "brokers: [h:1]\ntopics: [e]\ncolumns: [a]\nstart: first\n", Paths: []string{"start"}},
		},
	}.Run(t)
}
