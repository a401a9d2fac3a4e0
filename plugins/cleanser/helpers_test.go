package cleanser

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// ecommerceColumns are the CSV columns of the e-commerce events.
var ecommerceColumns = []string{"user_id", "action", "product_id", "product_name", "price", "event_time", "session_id"}

// textSchema is what a CSV source produces: nullable text fields.
func textSchema(names ...string) record.Schema {
	var s record.Schema
	for _, n := range names {
		s.Fields = append(s.Fields, record.Field{Name: n, Type: record.String, Nullable: true})
	}
	return s
}

// ecommerceConfig returns the cleanser's config block of
// configs/ecommerce.yaml, so that the file and the tests never drift.
func ecommerceConfig(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../../configs/ecommerce.yaml")
	if err != nil {
		t.Fatalf("read pipeline: %v", err)
	}
	var doc struct {
		Transforms []struct {
			Plugin string    `yaml:"plugin"`
			Config yaml.Node `yaml:"config"`
		} `yaml:"transforms"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse pipeline: %v", err)
	}
	if len(doc.Transforms) == 0 || doc.Transforms[0].Plugin != "cleanser" {
		t.Fatalf("configs/ecommerce.yaml: transforms[0] is not the cleanser")
	}
	raw, err := yaml.Marshal(&doc.Transforms[0].Config)
	if err != nil {
		t.Fatalf("marshal cleanser config: %v", err)
	}
	return raw
}

// configure returns a cleanser configured with raw over the input schema.
func configure(t testing.TB, raw string, in record.Schema) (*Cleanser, record.Schema) {
	t.Helper()
	c := New()
	out, err := c.Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "clean", Raw: []byte(raw)}, in)
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c, out
}

// ecommerce returns a cleanser configured as in configs/ecommerce.yaml.
func ecommerce(t testing.TB) *Cleanser {
	t.Helper()
	c, _ := configure(t, string(ecommerceConfig(t)), textSchema(ecommerceColumns...))
	return c
}

// null marks a null cell in textBatch rows.
const null = "\x00null"

// textBatch builds a batch of text rows; each row's raw text is its cells
// joined by commas and its origin events.csv at line i+2.
func textBatch(rows ...[]string) *record.Batch {
	cols := 0
	if len(rows) > 0 {
		cols = len(rows[0])
	}
	var schema record.Schema
	for c := 0; c < cols; c++ {
		schema.Fields = append(schema.Fields, record.Field{Name: fmt.Sprintf("c%d", c), Type: record.String, Nullable: true})
	}
	b := record.NewBatch(schema)
	for i, r := range rows {
		b.StartRow(record.Origin{Source: "events.csv", Line: int64(i + 2)}, []byte(strings.Join(r, ",")))
		for _, cell := range r {
			if cell == null {
				b.AppendNull()
			} else {
				b.AppendString(cell)
			}
		}
	}
	return b
}

// process runs one batch through c.
func process(t testing.TB, c *Cleanser, b *record.Batch) (*record.Batch, []record.Reject) {
	t.Helper()
	out, rejects, err := c.Process(context.Background(), b)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out, rejects
}

// event is one e-commerce CSV row, with defaults that pass.
type event struct {
	userID, action, productID, productName, price, eventTime, sessionID string
}

func goodEvent() event {
	return event{"42", "view", "7", "Blue Mug", "19.99", "2024-03-01T14:05:09Z", "s-1"}
}

func (e event) cells() []string {
	return []string{e.userID, e.action, e.productID, e.productName, e.price, e.eventTime, e.sessionID}
}
