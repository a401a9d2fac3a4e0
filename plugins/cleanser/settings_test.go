package cleanser

import (
	"slices"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Every key the cleanser decodes is described (and nothing else), with a
// type its decoding accepts.
func TestSettingsDescribeEveryKey(t *testing.T) {
	if err := plugin.CheckSettings(Config{}, Plugin.Settings); err != nil {
		t.Fatal(err)
	}
}

// The types a field may have are the record types.
func TestSettingsAllowEveryRecordType(t *testing.T) {
	for _, s := range Plugin.Settings {
		if s.Name == "fields[].type" && !slices.Equal(s.Allowed, record.TypeNames()) {
			t.Fatalf("fields[].type allows %v; the record types are %v", s.Allowed, record.TypeNames())
		}
	}
}

// The null_values default described is DefaultNullValues, as written by
// plugin.SettingsOf.
func TestSettingsDescribeTheDefaultNullValues(t *testing.T) {
	want := plugin.MustSettingsOf(struct {
		N []string `yaml:"n" doc:"n"`
	}{DefaultNullValues})[0].Default
	for _, s := range Plugin.Settings {
		if s.Name == "fields[].null_values" && s.Default != want {
			t.Fatalf("fields[].null_values has default %s, want %s", s.Default, want)
		}
	}
}
