package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// statusTimeout bounds the broker requests of Backlog.
const statusTimeout = 10 * time.Second

// unreachable wraps err, the failure of a request to the brokers while
// doing what: a broker that answered with an error code says what is
// wrong; any other failure (no broker reached in time) wraps
// plugin.ErrUnavailable, so that `etl status` shows the offsets with the
// lag unknown.
func unreachable(what string, err error) error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return fmt.Errorf("kafka: %s: %w", what, err)
	}
	return fmt.Errorf("kafka: %s: %w (%w)", what, err, plugin.ErrUnavailable)
}

// Backlog reports, for `etl status`, the lag of every partition of the
// configured topics after positions (the sink's committed ones): its end
// offset (high watermark) less the committed position, or, for a partition
// with none, less its earliest offset (start: earliest) or nothing (start:
// latest). It joins no group and reads no message. Brokers that do not
// answer make an error naming them.
func (s *Source) Backlog(ctx context.Context, positions []record.Position) (plugin.Backlog, error) {
	if s.set.brokers == nil {
		return plugin.Backlog{}, errors.New("kafka: Backlog before Configure")
	}
	brokers := strings.Join(s.set.brokers, ",")
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	cl, err := kgo.NewClient(slices.Concat(s.set.opts, []kgo.Opt{
		kgo.RetryTimeout(statusTimeout),
		kgo.WithLogger(kgoLogger{s.log}),
	})...)
	if err != nil {
		return plugin.Backlog{}, fmt.Errorf("kafka: client of brokers %s: %w", brokers, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	topics := s.set.topics
	if s.set.regex != nil {
		all, err := adm.ListTopics(ctx)
		if err != nil {
			return plugin.Backlog{}, unreachable(fmt.Sprintf("listing the topics of brokers %s", brokers), err)
		}
		topics = nil
		for _, t := range all.Names() {
			if s.set.regex.MatchString(t) {
				topics = append(topics, t)
			}
		}
		if len(topics) == 0 {
			return plugin.Backlog{}, nil
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return plugin.Backlog{}, unreachable(fmt.Sprintf("listing the end offsets of %s from brokers %s", strings.Join(topics, ","), brokers), err)
	}
	var starts kadm.ListedOffsets
	if s.set.start == StartEarliest {
		if starts, err = adm.ListStartOffsets(ctx, topics...); err != nil {
			return plugin.Backlog{}, unreachable(fmt.Sprintf("listing the start offsets of %s from brokers %s", strings.Join(topics, ","), brokers), err)
		}
	}
	committed := map[string]int64{}
	for _, p := range positions {
		committed[p.Partition] = p.Offset
	}
	var b plugin.Backlog
	var problems []string
	ends.Each(func(o kadm.ListedOffset) {
		if o.Partition < 0 {
			if o.Err != nil {
				problems = append(problems, fmt.Sprintf("topic %s: %v", o.Topic, o.Err))
			}
			return
		}
		name := tp{o.Topic, o.Partition}.String()
		if o.Err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, o.Err))
			return
		}
		from, ok := committed[name]
		if !ok {
			from = o.Offset // start: latest
			if st, found := starts.Lookup(o.Topic, o.Partition); found && st.Err == nil {
				from = st.Offset
			}
		}
		lag := max(o.Offset-from, 0)
		if lag > 0 {
			b.Partitions++
		}
		b.Lag = append(b.Lag, plugin.PartitionLag{Partition: name, Messages: lag})
	})
	slices.SortFunc(b.Lag, func(x, y plugin.PartitionLag) int { return comparePartitions(x.Partition, y.Partition) })
	if len(problems) > 0 {
		slices.Sort(problems)
		return b, fmt.Errorf("kafka: end offsets from brokers %s: %s", brokers, strings.Join(problems, "; "))
	}
	return b, nil
}

// comparePartitions orders partition names by topic, then by number.
func comparePartitions(a, b string) int {
	ta, oka := parseTP(a)
	tb, okb := parseTP(b)
	if !oka || !okb {
		return strings.Compare(a, b)
	}
	if c := strings.Compare(ta.topic, tb.topic); c != 0 {
		return c
	}
	return int(ta.partition) - int(tb.partition)
}
