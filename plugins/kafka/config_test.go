package kafka

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Every key the source decodes is described (and nothing else), with a
// type its decoding accepts.
func TestSettingsDescribeEveryKey(t *testing.T) {
	if err := plugin.CheckSettings(Config{}, Plugin.Settings); err != nil {
		t.Fatal(err)
	}
}

// Configuration mistakes are ConfigErrors naming their keys; none needs a
// broker.
func TestConfigureErrorsNameKeys(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	const ok = "brokers: [127.0.0.1:1]\ntopics: [events]\ncolumns: [a]\n"
	for _, tc := range []struct {
		name string
		cfg  string
		want []string
	}{
		{"missing brokers", "topics: [events]\ncolumns: [a]\n", []string{"brokers"}},
		{"bad broker", "brokers: ['a b']\ntopics: [events]\ncolumns: [a]\n", []string{"brokers[0]"}},
		{"no topics", "brokers: [h:1]\ncolumns: [a]\n", []string{"topics"}},
		{"topics and regex", ok + "topic_regex: 'e.*'\n", []string{"topic_regex"}},
		{"bad regex", "brokers: [h:1]\ntopic_regex: '('\ncolumns: [a]\n", []string{"topic_regex"}},
		{"duplicate topic", "brokers: [h:1]\ntopics: [a, a]\ncolumns: [a]\n", []string{"topics[1]"}},
		{"bad start", ok + "start: oldest\n", []string{"start"}},
		{"bad format", ok + "format: avro\n", []string{"format"}},
		{"no columns", "brokers: [h:1]\ntopics: [events]\n", []string{"columns"}},
		{"duplicate column", "brokers: [h:1]\ntopics: [events]\ncolumns: [a, a]\n", []string{"columns[1]"}},
		{"metadata name taken", ok + "metadata: {key: a}\n", []string{"metadata.key"}},
		{"metadata reserved name", ok + "metadata: {offset: _etl_offset}\n", []string{"metadata.offset"}},
		{"unknown metadata", ok + "metadata: {size: s}\n", []string{"metadata.size"}},
		{"bad delimiter", ok + "delimiter: '\"'\n", []string{"delimiter"}},
		{"bad sasl mechanism", ok + "sasl: {mechanism: GSSAPI, user: u, password: p}\n", []string{"sasl.mechanism"}},
		{"sasl without password", ok + "sasl: {mechanism: PLAIN, user: u}\n", []string{"sasl.password"}},
		{"sasl user without mechanism", ok + "sasl: {user: u}\n", []string{"sasl.mechanism"}},
		{"unreadable ca file", ok + "tls: {ca_file: " + filepath.Join(dir, "missing.pem") + "}\n", []string{"tls.ca_file"}},
		{"ca file not PEM", ok + "tls: {ca_file: " + notPEM + "}\n", []string{"tls.ca_file"}},
		{"cert without key", ok + "tls: {cert_file: " + notPEM + "}\n", []string{"tls.key_file"}},
		{"unloadable key pair", ok + "tls: {cert_file: " + notPEM + ", key_file: " + notPEM + "}\n", []string{"tls.cert_file"}},
		{"zero session timeout", ok + "session_timeout: 0s\n", []string{"session_timeout"}},
		{"unknown key", ok + "topic: events\n", []string{"topic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Configure(context.Background(), plugin.Config{Pipeline: "p", Raw: []byte(tc.cfg)})
			es := plugin.AsConfigErrors(err)
			var paths []string
			for _, e := range es {
				if e.Path == "" {
					t.Errorf("error without a key path: %v", e)
				}
				paths = append(paths, e.Path)
			}
			if !slices.Equal(paths, tc.want) {
				t.Errorf("errors %v, want at keys %v", err, tc.want)
			}
		})
	}
}

// A valid configuration needs no reachable broker and gives the columns,
// then the metadata fields, typed.
func TestConfigureNeedsNoBroker(t *testing.T) {
	cfg := "brokers: [127.0.0.1:1]\ntopics: [events]\nformat: json\ncolumns: [a, b]\n" +
		"metadata: {key: k, timestamp: ts, topic: t, partition: p, offset: o, headers: h}\n" +
		"tls: {enable: true}\nsasl: {mechanism: SCRAM-SHA-512, user: u, password: pw}\n"
	schema, err := New().Configure(context.Background(), plugin.Config{Pipeline: "p", Raw: []byte(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Field{
		{Name: "a", Type: record.String, Nullable: true}, {Name: "b", Type: record.String, Nullable: true},
		{Name: "k", Type: record.String, Nullable: true}, {Name: "ts", Type: record.Timestamp},
		{Name: "t", Type: record.String}, {Name: "p", Type: record.Int32}, {Name: "o", Type: record.Int64},
		{Name: "h", Type: record.JSON},
	}
	if !slices.Equal(schema.Fields, want) {
		t.Errorf("schema %v, want %v", schema.Fields, want)
	}
}

// The group defaults to etl- and the pipeline's name.
func TestGroupDefaultsToPipelineName(t *testing.T) {
	s := New()
	if _, err := s.Configure(context.Background(), plugin.Config{Pipeline: "shop", Raw: []byte("brokers: [h:1]\ntopics: [e]\ncolumns: [a]\n")}); err != nil {
		t.Fatal(err)
	}
	if s.set.group != "etl-shop" {
		t.Errorf("group %q, want etl-shop", s.set.group)
	}
}
