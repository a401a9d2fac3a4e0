package events

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// Publisher takes the messages of Publish: a message broker's producer.
type Publisher interface {
	// Publish queues one message; it may return before the broker has it.
	Publish(ctx context.Context, key, value []byte) error
	// Flush returns once every queued message is acknowledged, or with the
	// first error of any of them.
	Flush(ctx context.Context) error
}

// Publish is Run for a message broker: the same generator, the same
// defect mix, pacing and manifest, but each row is one message to p (its
// value the CSV line without header or line end, its key the row's raw
// user_id text) instead of a line of a file. A "file" of opts is a chunk
// of rows; the manifest is written after p.Flush, so it never counts a
// message the broker did not acknowledge. Manifest.Topic is topic,
// Manifest.Files stays empty and a Sample's File is the topic and Line the
// row's ordinal among all published rows, from 1.
func Publish(ctx context.Context, opts Options, topic string, p Publisher, logf func(format string, args ...any)) (*Manifest, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if logf == nil {
		logf = func(string, ...any) {}
	}
	g := New(opts.Config)
	cfg := g.Config()
	rows, interval, span := opts.plan()
	m := newManifest(cfg, opts, rows)
	m.Topic = topic
	// pending counts what is published but not yet flushed into m.
	type pendingChunk struct {
		kinds   map[string]KindInfo
		counts  map[string]int64
		samples []Sample
	}
	pend := pendingChunk{kinds: map[string]KindInfo{}, counts: map[string]int64{}}
	accepted := int64(0)
	ordinal := int64(0)
	chunks := 0
	began := time.Now()
	var lastManifest time.Time
	flush := func() error {
		if err := p.Flush(ctx); err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		for name, n := range pend.counts {
			k := pend.kinds[name]
			m.Kinds[name] += n
			m.Rows += n
			if k.Accept {
				m.Accepted += n
			} else {
				m.Rejected += n
				m.Rejects[k.ErrorType] += n
			}
		}
		clear(pend.counts)
		m.Samples = append(m.Samples, pend.samples...)
		pend.samples = pend.samples[:0]
		for len(m.Samples) > opts.MaxSamples {
			m.SampleEvery *= 2
			kept := m.Samples[:0]
			for _, s := range m.Samples {
				if s.n%m.SampleEvery == 0 {
					kept = append(kept, s)
				}
			}
			m.Samples = kept
		}
		return writeManifest(opts.ManifestPath, m)
	}
	var runErr error
	for k := 0; opts.Files == 0 || k < opts.Files; k++ {
		if k > 0 && interval > 0 {
			if !sleepUntil(ctx, began.Add(time.Duration(k)*interval)) {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		base := cfg.Start.Add(time.Duration(k) * span)
		buf := make([]byte, 0, rows*96)
		now := time.Now()
		for i := 0; i < rows; i++ {
			if cfg.Start.IsZero() {
				if i%128 == 0 {
					now = time.Now()
				}
			} else {
				now = base.Add(time.Duration(int64(span) * int64(i) / int64(rows)))
			}
			start := len(buf)
			var o Outcome
			buf, o = g.Next(buf, now)
			ordinal++
			line := buf[start : len(buf)-1 : len(buf)-1]
			key := line
			if c := bytes.IndexByte(line, ','); c >= 0 {
				key = line[:c:c]
			}
			if err := p.Publish(ctx, key, line); err != nil {
				runErr = fmt.Errorf("publish to %s: %w", topic, err)
				break
			}
			if _, ok := pend.kinds[o.Kind]; !ok {
				ki := KindInfo{Name: KindClean, Accept: true}
				if o.Kind != KindClean {
					ki, _ = LookupKind(o.Kind)
				}
				pend.kinds[o.Kind] = ki
			}
			pend.counts[o.Kind]++
			if o.Accept {
				accepted++
				if opts.MaxSamples > 0 && accepted%m.SampleEvery == 0 {
					pend.samples = append(pend.samples, Sample{File: topic, Line: ordinal, Want: o.Want, n: accepted})
				}
			}
		}
		if runErr != nil {
			break
		}
		chunks++
		if opts.ManifestEvery <= 0 || time.Since(lastManifest) >= opts.ManifestEvery {
			if err := flush(); err != nil {
				runErr = err
				break
			}
			lastManifest = time.Now()
		}
		if opts.LogEvery > 0 && chunks%opts.LogEvery == 0 {
			logf("datagen: %d rows (%d accepted, %d rejected) published to %s in %.1fs", m.Rows, m.Accepted, m.Rejected, topic, time.Since(began).Seconds())
		}
	}
	m.Stopped = ctx.Err() != nil || runErr != nil
	if runErr == nil {
		// The last flush must not end with ctx: what was published is
		// acknowledged before the manifest says so.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		saved := ctx
		ctx = fctx
		runErr = flush()
		ctx = saved
	}
	logf("datagen: %d rows (%d accepted, %d rejected) published to %s in %.1fs", m.Rows, m.Accepted, m.Rejected, topic, time.Since(began).Seconds())
	return m, runErr
}
