package main

import (
	"testing"

	"github.com/seed-etl/etl/core/plugin"
)

// Every key the transform decodes is described, and nothing else.
func TestSettingsDescribeEveryKey(t *testing.T) {
	if err := plugin.CheckSettings(config{}, plugin.MustSettingsOf(defaultConfig())); err != nil {
		t.Fatal(err)
	}
}
