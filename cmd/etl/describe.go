package main

import (
	"fmt"
	"strings"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/record"
)

func pluginProtocol() int { return host.ProtocolVersion }

// describeSchema formats a schema as "user_id int64, price decimal(2), ...".
func describeSchema(s record.Schema) string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		t := f.Type.String()
		if f.Type == record.Decimal {
			t = fmt.Sprintf("decimal(scale %d)", f.Scale)
		}
		if !f.Nullable {
			t += " not null"
		}
		parts[i] = f.Name + " " + t
	}
	return strings.Join(parts, ", ")
}
