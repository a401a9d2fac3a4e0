package postgres

import (
	"testing"

	"github.com/seed-etl/etl/core/plugin"
)

// Every key the sink decodes is described (and nothing else), with a
// type its decoding accepts.
func TestSettingsDescribeEveryKey(t *testing.T) {
	if err := plugin.CheckSettings(Config{}, Plugin.Settings); err != nil {
		t.Fatal(err)
	}
}
