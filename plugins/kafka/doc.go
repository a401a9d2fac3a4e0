// Package kafka is the Kafka source: a member of a consumer group reading
// the group's topics, whose partitions are assigned to it and revoked from
// it while it runs, so that several etl processes running one pipeline
// share a topic's partitions. It is written on github.com/twmb/franz-go.
//
// A partition is named topic/partition (events/3); its position is the
// next offset to read. Positions are resumed only from the sink: when the
// group assigns partitions (cooperative-sticky balancing), the source
// pauses them and reports them in ReadResult.Assigned; nothing of them is
// read until the engine calls Assign with their committed positions, and
// those without one start at their earliest offset or their end (start).
// The group's own committed offsets are never read. After the engine has
// committed a batch, Ack commits its positions to the group too, so that
// Kafka's tools show the group's lag; a failure there is logged only.
//
// When a rebalance takes partitions away, the next Read returns at once
// with them in ReadResult.Revoked, no record of them is returned after,
// and the group's revoke waits until the engine calls Release for them,
// once every batch of theirs is committed: the group hands them on only
// then. Partitions lost without a rebalance (the member's session expired)
// are reported as revoked without waiting. Close leaves the group.
//
// A message's value is one header-less CSV line (format: csv) or one JSON
// object (format: json) whose members are taken by the names in columns; the
// fields leave as text (a JSON member that is not a string as its JSON
// text), typing them is a transform's job. The metadata block adds fields
// of the message's key, timestamp, topic, partition, offset and headers. A
// value that cannot be parsed becomes a reject of type CSV_PARSE_ERROR or
// JSON_PARSE_ERROR (MESSAGE_TOO_LARGE beyond max_message_bytes) with the
// value as its raw text; its origin is the partition (topic/partition) and,
// in place of a line number, the message's offset.
//
// Each batch reports the lag of every partition read (high watermark less
// next offset) in Backlog.Lag; Backlog, for `etl status`, lists the end
// offsets against the committed positions. Configure reaches no broker.
package kafka
