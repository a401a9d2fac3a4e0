package cleanser

import (
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
)

// TestAcceptance runs the plugin acceptance suite on the cleanser with the
// config of configs/ecommerce.yaml, over rows that pass (some cleaned:
// spaces, an alias, another time format, nulls) and rows it rejects, one
// for each kind of mistake.
func TestAcceptance(t *testing.T) {
	rows := [][]string{
		{"42", "view", "7", "Blue Mug", "19.99", "2024-03-01T14:05:09Z", "s-1"},
		{" 43 ", "Add To Cart", "8", "  Red Mug ", "5", "2024-03-01 14:05:10", ""},
		{"44", "checkout", "9", "Green Mug", "7.50", "2024-03-01T14:05:11Z", "NULL"},
		{"45", "dance", "10", "Mug", "", "2024-03-01T14:05:12Z", "s-4"},
		{"", "view", "7", "Blue Mug", "19.99", "2024-03-01T14:05:09Z", "s-5"},                // MISSING_REQUIRED
		{"46", "view", "7", "Blue Mug", "$19.99", "2024-03-01T14:05:09Z", "s-6"},             // INVALID_NUMBER
		{"47", "view", "7", "Blue Mug", "-5.00", "2024-03-01T14:05:09Z", "s-7"},              // RULE_VIOLATION
		{"48", "view", "7", strings.Repeat("x", 101), "1.00", "2024-03-01T14:05:09Z", "s-8"}, // TOO_LONG
		{"49", "view", "7", "Blue Mug", "1.00", "yesterday", "s-9"},                          // INVALID_TIMESTAMP
		{"50", "view", "7", "Mug \xff", "1.00", "2024-03-01T14:05:09Z", "s-10"},              // INVALID_TEXT
		{"51", "bought", "7", "Blue Mug", "", "2024-03-01T14:05:09Z", "s-11"},                // RULE_VIOLATION
	}
	var in []plugintest.Row
	for _, r := range rows {
		cells := make([]any, len(r))
		for i, c := range r {
			cells[i] = c
		}
		in = append(in, plugintest.Row{Raw: strings.Join(r, ","), Cells: cells})
	}
	in = append(in, plugintest.Row{Raw: "52,view,7,,,2024-03-01T14:05:09Z,", Cells: []any{"52", "view", "7", nil, nil, "2024-03-01T14:05:09Z", nil}})
	plugintest.TransformSuite{
		New:        func() plugin.Transform { return New() },
		NeedsNoRaw: Plugin.TransformNeedsNoRaw,
		Config:     string(ecommerceConfig(t)),
		Schema:     textSchema(ecommerceColumns...),
		Rows:       in,
		BadConfigs: []plugintest.BadConfig{
			{Name: "no fields", Config: "fields: []\n", Paths: []string{"fields"}},
			{Name: "unknown key", Config: "fields:\n  - {name: user_id, type: int64, colour: red}\n", Paths: []string{"fields[0].colour"}},
			{Name: "several mistakes", Config: "fields:\n  - {name: user_id, type: int64, max_length: 3}\n  - {name: price, type: decimal, precision: 2, scale: 3}\n",
				Paths: []string{"fields[0].max_length", "fields[1].scale"}},
			{Name: "not YAML", Config: "fields: [", Paths: []string{""}},
		},
	}.Run(t)
}
