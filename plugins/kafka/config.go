package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Config is the source's `config:` block. The tags describe each key once
// (see plugin.SettingsOf): `etl plugins kafka` and the README show them.
type Config struct {
	Brokers    []string `yaml:"brokers" required:"true" doc:"The seed brokers, host:port each."`
	Topics     []string `yaml:"topics" doc:"The topics read; give topics or topic_regex."`
	TopicRegex string   `yaml:"topic_regex" doc:"A regular expression (Go syntax, anchored at both ends) naming the topics read, those created later too; instead of topics."`
	Group      string   `yaml:"group" doc:"The consumer group the etl processes of one pipeline share; when not set, etl- followed by the pipeline's name."`
	Start      string   `yaml:"start" allowed:"earliest,latest" doc:"Where a partition with no position committed in the sink starts: its earliest retained offset or its end. Positions are resumed only from the sink, never from the group's offsets in Kafka."`
	Format     string   `yaml:"format" allowed:"csv,json" doc:"What a message's value holds: one header-less CSV line, or one JSON object whose members are taken by name."`
	Columns    []string `yaml:"columns" required:"true" doc:"The field names: with csv, the line's fields in order; with json, the members taken (a missing or null member is null, a non-string member its JSON text)."`
	Delimiter  string   `yaml:"delimiter" doc:"(csv) The one ASCII character that separates fields."`
	// Metadata names the fields made of each message's metadata.
	Metadata         MetadataConfig  `yaml:"metadata" doc:"Fields made of each message's metadata, appended after columns; each key is the name of its field, unset ones are not made."`
	TLS              TLSConfig       `yaml:"tls" doc:"TLS to the brokers."`
	SASL             SASLConfig      `yaml:"sasl" doc:"SASL authentication to the brokers."`
	SessionTimeout   plugin.Duration `yaml:"session_timeout" doc:"How long the group waits for a silent member (e.g. a killed process) before handing its partitions on."`
	RebalanceTimeout plugin.Duration `yaml:"rebalance_timeout" doc:"How long the group waits for every member to rejoin during a rebalance. Revoked partitions whose batches are not committed within four fifths of it are let go and the run ends with an error, so that the group is not held up."`
	MaxMessageBytes  plugin.Size     `yaml:"max_message_bytes" doc:"The largest message value; a larger one is rejected (MESSAGE_TOO_LARGE) with its first max_message_bytes bytes."`
}

// MetadataConfig names the metadata fields; an empty name makes none.
type MetadataConfig struct {
	Key       string `yaml:"key" doc:"The message key, a string field (null when the message has none)."`
	Timestamp string `yaml:"timestamp" doc:"The message timestamp, a timestamp field."`
	Topic     string `yaml:"topic" doc:"The topic, a string field."`
	Partition string `yaml:"partition" doc:"The partition number, an int32 field."`
	Offset    string `yaml:"offset" doc:"The message offset, an int64 field."`
	Headers   string `yaml:"headers" doc:"The headers, a json field: an object of header name to value (the last one of a repeated name)."`
}

// TLSConfig is the tls block.
type TLSConfig struct {
	Enable             bool   `yaml:"enable" doc:"Connect with TLS; set by any other tls key."`
	CAFile             string `yaml:"ca_file" doc:"A PEM file of the certificate authorities trusted; when not set, the system's."`
	CertFile           string `yaml:"cert_file" doc:"A PEM client certificate, with key_file."`
	KeyFile            string `yaml:"key_file" doc:"The PEM private key of cert_file."`
	ServerName         string `yaml:"server_name" doc:"The name the brokers' certificates must hold; when not set, each broker's host."`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" doc:"Accept any broker certificate (for tests only)."`
}

// SASLConfig is the sasl block.
type SASLConfig struct {
	Mechanism string `yaml:"mechanism" allowed:"PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" doc:"The SASL mechanism; when not set, no SASL."`
	User      string `yaml:"user" doc:"The user name."`
	Password  string `yaml:"password" doc:"The password (use ${VAR}); it never appears in logs or errors."`
}

// The values of Config.Start and Config.Format.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
	FormatCSV     = "csv"
	FormatJSON    = "json"
)

// Defaults of Config.
const (
	DefaultDelimiter        = ","
	DefaultSessionTimeout   = 45 * time.Second
	DefaultRebalanceTimeout = 60 * time.Second
	DefaultMaxMessageBytes  = 1 << 20
)

// defaultConfig returns a Config holding every default.
func defaultConfig() Config {
	return Config{
		Start:            StartEarliest,
		Format:           FormatCSV,
		Delimiter:        DefaultDelimiter,
		SessionTimeout:   plugin.Duration(DefaultSessionTimeout),
		RebalanceTimeout: plugin.Duration(DefaultRebalanceTimeout),
		MaxMessageBytes:  DefaultMaxMessageBytes,
	}
}

// metaKind is one kind of metadata field.
type metaKind uint8

const (
	metaKey metaKind = iota
	metaTimestamp
	metaTopic
	metaPartition
	metaOffset
	metaHeaders
)

// metaField is one metadata field made.
type metaField struct {
	kind metaKind
	name string
}

// settings is a checked Config in the form the source uses.
type settings struct {
	brokers  []string
	topics   []string
	regex    *regexp.Regexp
	group    string
	start    string
	format   string
	columns  []string
	delim    byte
	meta     []metaField
	maxBytes int
	// sessionTimeout and rebalanceTimeout are session_timeout and
	// rebalance_timeout.
	sessionTimeout, rebalanceTimeout time.Duration
	// opts are the client options common to the consumer and the status
	// client: brokers, TLS, SASL.
	opts []kgo.Opt
	// groupOpts are the consumer group's options, without callbacks.
	groupOpts []kgo.Opt
}

// parseConfig decodes raw and checks every key, returning all mistakes
// together as plugin.ConfigErrors. It reaches no broker.
func parseConfig(raw []byte, pipeline string) (settings, plugin.ConfigErrors) {
	c := defaultConfig()
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(raw, &c))
	var more plugin.ConfigErrors
	s := settings{
		start:    c.Start,
		format:   c.Format,
		columns:  c.Columns,
		group:    c.Group,
		maxBytes: int(c.MaxMessageBytes),
	}

	if len(c.Brokers) == 0 {
		more.Add("brokers", "required: list the seed brokers, e.g. [127.0.0.1:9092]")
	}
	for i, b := range c.Brokers {
		b = strings.TrimSpace(b)
		if b == "" || strings.ContainsAny(b, " ,/") {
			more.Add(fmt.Sprintf("brokers[%d]", i), "%q is not host:port", b)
			continue
		}
		s.brokers = append(s.brokers, b)
	}

	switch {
	case len(c.Topics) > 0 && c.TopicRegex != "":
		more.Add("topic_regex", "give topics or topic_regex, not both")
	case len(c.Topics) == 0 && c.TopicRegex == "":
		more.Add("topics", "required: list the topics to read (or give topic_regex)")
	case c.TopicRegex != "":
		re, err := regexp.Compile("^(?:" + c.TopicRegex + ")$")
		if err != nil {
			more.Add("topic_regex", "%q is not a regular expression: %v", c.TopicRegex, err)
		} else {
			s.regex = re
		}
	}
	seenTopic := map[string]int{}
	for i, t := range c.Topics {
		path := fmt.Sprintf("topics[%d]", i)
		switch j, dup := seenTopic[t]; {
		case t == "" || strings.ContainsAny(t, " /"):
			more.Add(path, "%q is not a topic name", t)
		case dup:
			more.Add(path, "topic %q is also topics[%d]", t, j)
		default:
			seenTopic[t] = i
			s.topics = append(s.topics, t)
		}
	}

	if s.group == "" {
		s.group = "etl-" + pipeline
	}
	if c.Start != StartEarliest && c.Start != StartLatest {
		more.Add("start", "%q is not one of earliest, latest", c.Start)
	}
	if c.Format != FormatCSV && c.Format != FormatJSON {
		more.Add("format", "%q is not one of csv, json", c.Format)
	}
	if len(c.Delimiter) != 1 || c.Delimiter[0] == '"' || c.Delimiter[0] == '\n' || c.Delimiter[0] == '\r' || c.Delimiter[0] >= 0x80 {
		more.Add("delimiter", "%q must be one ASCII character other than a quote or a line end", c.Delimiter)
	} else {
		s.delim = c.Delimiter[0]
	}
	if c.SessionTimeout <= 0 {
		more.Add("session_timeout", "must be > 0")
	}
	if c.RebalanceTimeout <= 0 {
		more.Add("rebalance_timeout", "must be > 0")
	}
	if c.MaxMessageBytes <= 0 {
		more.Add("max_message_bytes", "must be > 0 (default %s)", plugin.Size(DefaultMaxMessageBytes))
	}

	names := map[string]string{} // field name -> the key that made it
	if len(c.Columns) == 0 {
		more.Add("columns", "required: list the field names")
	}
	for i, name := range c.Columns {
		path := fmt.Sprintf("columns[%d]", i)
		if name == "" {
			more.Add(path, "empty column name")
			continue
		}
		if other, dup := names[name]; dup {
			more.Add(path, "column %q is also %s", name, other)
			continue
		}
		names[name] = path
	}
	for _, m := range []struct {
		kind metaKind
		key  string
		name string
	}{
		{metaKey, "key", c.Metadata.Key},
		{metaTimestamp, "timestamp", c.Metadata.Timestamp},
		{metaTopic, "topic", c.Metadata.Topic},
		{metaPartition, "partition", c.Metadata.Partition},
		{metaOffset, "offset", c.Metadata.Offset},
		{metaHeaders, "headers", c.Metadata.Headers},
	} {
		if m.name == "" {
			continue
		}
		path := "metadata." + m.key
		if strings.HasPrefix(m.name, "_etl_") {
			more.Add(path, "field name %q: names starting with _etl_ are reserved", m.name)
			continue
		}
		if other, dup := names[m.name]; dup {
			more.Add(path, "field %q is also %s", m.name, other)
			continue
		}
		names[m.name] = path
		s.meta = append(s.meta, metaField{kind: m.kind, name: m.name})
	}

	s.opts = []kgo.Opt{kgo.SeedBrokers(s.brokers...)}
	if t, ok := tlsConfig(c.TLS, &more); ok && t != nil {
		s.opts = append(s.opts, kgo.DialTLSConfig(t))
	}
	if m := saslMechanism(c.SASL, &more); m != nil {
		s.opts = append(s.opts, kgo.SASL(m))
	}
	s.sessionTimeout, s.rebalanceTimeout = time.Duration(c.SessionTimeout), time.Duration(c.RebalanceTimeout)
	s.groupOpts = []kgo.Opt{
		kgo.ConsumerGroup(s.group),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(time.Duration(c.SessionTimeout)),
		kgo.RebalanceTimeout(time.Duration(c.RebalanceTimeout)),
	}
	if s.start == StartLatest {
		s.groupOpts = append(s.groupOpts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	} else {
		s.groupOpts = append(s.groupOpts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if s.regex != nil {
		s.groupOpts = append(s.groupOpts, kgo.ConsumeRegex(), kgo.ConsumeTopics(s.regex.String()))
	} else {
		s.groupOpts = append(s.groupOpts, kgo.ConsumeTopics(s.topics...))
	}
	errs.Merge(more)
	return s, errs
}

// tlsConfig checks the tls block and builds its tls.Config: nil when TLS
// is off, ok false when a mistake was recorded.
func tlsConfig(c TLSConfig, errs *plugin.ConfigErrors) (*tls.Config, bool) {
	if !c.Enable && c.CAFile == "" && c.CertFile == "" && c.KeyFile == "" && c.ServerName == "" && !c.InsecureSkipVerify {
		return nil, true
	}
	ok := true
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // insecure_skip_verify is the user's choice, documented as for tests
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		switch {
		case err != nil:
			errs.Add("tls.ca_file", "cannot read: %v", err)
			ok = false
		default:
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs.Add("tls.ca_file", "%s holds no PEM certificate", c.CAFile)
				ok = false
			}
			t.RootCAs = pool
		}
	}
	switch {
	case c.CertFile == "" && c.KeyFile == "":
	case c.CertFile == "":
		errs.Add("tls.cert_file", "required with tls.key_file")
		ok = false
	case c.KeyFile == "":
		errs.Add("tls.key_file", "required with tls.cert_file")
		ok = false
	default:
		for key, f := range map[string]string{"tls.cert_file": c.CertFile, "tls.key_file": c.KeyFile} {
			if _, err := os.Stat(f); err != nil {
				errs.Add(key, "cannot read: %v", err)
				ok = false
			}
		}
		if ok {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				errs.Add("tls.cert_file", "cannot load the key pair %s, %s: %v", c.CertFile, c.KeyFile, err)
				ok = false
			} else {
				t.Certificates = []tls.Certificate{cert}
			}
		}
	}
	return t, ok
}

// saslMechanism checks the sasl block and builds its mechanism, nil when
// SASL is off or a mistake was recorded.
func saslMechanism(c SASLConfig, errs *plugin.ConfigErrors) sasl.Mechanism {
	if c.Mechanism == "" {
		if c.User != "" || c.Password != "" {
			errs.Add("sasl.mechanism", "required with sasl.user or sasl.password: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
		}
		return nil
	}
	bad := false
	if c.User == "" {
		errs.Add("sasl.user", "required with sasl.mechanism %s", c.Mechanism)
		bad = true
	}
	if c.Password == "" {
		errs.Add("sasl.password", "required with sasl.mechanism %s", c.Mechanism)
		bad = true
	}
	var m sasl.Mechanism
	switch strings.ToUpper(c.Mechanism) {
	case "PLAIN":
		m = plain.Auth{User: c.User, Pass: c.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		m = scram.Auth{User: c.User, Pass: c.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		m = scram.Auth{User: c.User, Pass: c.Password}.AsSha512Mechanism()
	default:
		errs.Add("sasl.mechanism", "%q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.Mechanism)
		return nil
	}
	if bad {
		return nil
	}
	return m
}

// schema is the schema of the rows: the columns, then the metadata fields.
func (s *settings) schema() record.Schema {
	fields := make([]record.Field, 0, len(s.columns)+len(s.meta))
	for _, c := range s.columns {
		fields = append(fields, record.Field{Name: c, Type: record.String, Nullable: s.format == FormatJSON})
	}
	for _, m := range s.meta {
		f := record.Field{Name: m.name}
		switch m.kind {
		case metaKey:
			f.Type, f.Nullable = record.String, true
		case metaTimestamp:
			f.Type = record.Timestamp
		case metaTopic:
			f.Type = record.String
		case metaPartition:
			f.Type = record.Int32
		case metaOffset:
			f.Type = record.Int64
		case metaHeaders:
			f.Type = record.JSON
		}
		fields = append(fields, f)
	}
	return record.Schema{Fields: fields}
}
