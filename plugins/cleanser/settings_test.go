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
