package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaPublisher publishes rows to one topic with acks from all in-sync
// replicas and idempotence (franz-go's defaults, asked for explicitly),
// partitioned by key.
type kafkaPublisher struct {
	client *kgo.Client
	topic  string
	mu     sync.Mutex
	err    error
}

// newKafkaPublisher connects to brokers (a comma-separated list).
func newKafkaPublisher(brokers, topic string) (*kafkaPublisher, error) {
	var seeds []string
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			seeds = append(seeds, b)
		}
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("--kafka %q names no broker", brokers)
	}
	c, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.AllowAutoTopicCreation(),
		kgo.MaxBufferedRecords(100_000),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", brokers, err)
	}
	return &kafkaPublisher{client: c, topic: topic}, nil
}

// Publish queues one record; a failed record's error comes back from the
// next Publish or Flush.
func (p *kafkaPublisher) Publish(ctx context.Context, key, value []byte) error {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.client.Produce(ctx, &kgo.Record{Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
	})
	return nil
}

// Flush waits for every queued record's acknowledgement.
func (p *kafkaPublisher) Flush(ctx context.Context) error {
	if err := p.client.Flush(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close closes the client.
func (p *kafkaPublisher) Close() { p.client.Close() }
