package plugin_test

import (
	"fmt"
	"time"

	"github.com/seed-etl/etl/core/plugin"
)

// A plugin describes its settings once, in its config struct's tags; the
// defaults described are those of the value it decodes over.
func ExampleSettingsOf() {
	type config struct {
		Column  string          `yaml:"column" required:"true" doc:"The column to add."`
		Mode    string          `yaml:"mode" allowed:"fast,exact" doc:"How to compute it."`
		Timeout plugin.Duration `yaml:"timeout" doc:"Bounds each lookup."`
		Cache   plugin.Size     `yaml:"cache" doc:"The memory the cache may take."`
	}
	defaults := config{Mode: "exact", Timeout: plugin.Duration(2 * time.Second), Cache: 64 << 20}
	settings, err := plugin.SettingsOf(defaults)
	if err != nil {
		panic(err)
	}
	for _, s := range settings {
		fmt.Printf("%s %s default=%q required=%v allowed=%v: %s\n", s.Name, s.Type, s.Default, s.Required, s.Allowed, s.Doc)
	}
	// Decoding over the defaults reads durations and sizes with their units.
	cfg := defaults
	if err := plugin.DecodeConfig([]byte("column: c\ncache: 1.5MiB\n"), &cfg); err != nil {
		panic(err)
	}
	fmt.Println(cfg.Column, cfg.Timeout, int64(cfg.Cache))
	// Output:
	// column string default="" required=true allowed=[]: The column to add.
	// mode string default="exact" required=false allowed=[fast exact]: How to compute it.
	// timeout duration default="2s" required=false allowed=[]: Bounds each lookup.
	// cache size default="64MiB" required=false allowed=[]: The memory the cache may take.
	// c 2s 1572864
}
