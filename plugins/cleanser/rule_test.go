package cleanser

import (
	"context"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
)

// orderTable has an order's quantity, price and kind, and the rules and
// derived fields of rules.
func orderTable(rules string) table {
	return table{
		config: `
fields:
  - {name: qty, type: int64, required: true}
  - {name: price, type: decimal, precision: 8, scale: 2}
  - {name: kind, type: string, case: lower}
` + rules,
		cols:     []string{"qty", "price", "kind"},
		good:     []string{"2", "19.99", "sale"},
		goodWant: []string{"2", "19.99", "sale"},
	}
}

// order is a case of orderTable that passes as the cells it has.
func order(qty, price, kind string) rowCase {
	want := []string{qty, price, kind}
	for i, w := range want {
		if w == "" {
			want[i] = nullText
		}
	}
	return rowCase{in: []string{qty, price, kind}, want: want}
}

// broken is a case of orderTable refused by a rule.
func broken(qty, price, kind, errType string, reason ...string) rowCase {
	return rowCase{in: []string{qty, price, kind}, errType: errType, reason: reason}
}

func TestRules(t *testing.T) {
	orderTable(`
rules:
  - name: qty_positive
    expr: qty > 0
  - name: price_cap
    expr: price == nil || price <= 1000
    error_type: PRICE_TOO_HIGH
    message: a price is at most 1000
  - name: sale_has_price
    expr: kind != "sale" || price != nil
    message: a sale must have a price
  - name: exact_decimal
    expr: price == nil || price != 0.3
    error_type: NOT_POINT_THREE
`).run(t, []rowCase{
		order("1", "1000.00", "sale"),
		order("5", "", "gift"),
		order("5", "", ""), // kind nil is not "sale"
		order("5", "0.29", "sale"),
		broken("0", "1.00", "sale", ErrRuleViolation, "qty_positive: qty > 0 does not hold (qty: 0)"),
		broken("-3", "1.00", "sale", ErrRuleViolation, "qty_positive", "(qty: -3)"),
		broken("1", "1000.01", "sale", "PRICE_TOO_HIGH", "price_cap: a price is at most 1000 (price: 1000.01)"),
		broken("1", "", "SALE", ErrRuleViolation, `sale_has_price: a sale must have a price (kind: "sale", price: null)`),
		broken("1", "0.30", "", "NOT_POINT_THREE", "exact_decimal: price == nil || price != 0.3 does not hold (price: 0.30)"),
		{name: "first broken rule wins", in: []string{"0", "5000", "sale"}, errType: ErrRuleViolation, reason: []string{"qty_positive"}},
	})
}

// TestRulesOverNil checks rules that read a null field: nil compares as
// a value, while arithmetic or ordering on nil fails the rule.
func TestRulesOverNil(t *testing.T) {
	orderTable(`
rules:
  - {name: price_positive, expr: price > 0, message: price must be positive}
  - {name: kind_known, expr: 'kind in ["sale", "gift", nil]'}
`).run(t, []rowCase{
		order("1", "0.01", "gift"),
		order("1", "0.01", ""),
		broken("1", "", "sale", ErrRuleViolation, "price_positive: price must be positive: ", "(price: null)"),
		broken("1", "-1", "sale", ErrRuleViolation, "price_positive: price must be positive (price: -1.00)"),
		broken("1", "1", "loan", ErrRuleViolation, `kind_known: kind in ["sale", "gift", nil] does not hold (kind: "loan")`),
	})
}

func TestDerive(t *testing.T) {
	tb := orderTable(`
derive:
  - {name: total, type: decimal, precision: 10, scale: 2, expr: "price == nil ? nil : price * qty"}
  - {name: label, type: string, expr: 'upper(kind ?? "none") + "#" + string(qty)'}
  - {name: big, type: bool, expr: "total != nil && total >= 100"}
  - {name: half, type: int64, expr: "qty / 2 == 1 ? 1 : nil"}
rules:
  - {name: total_cap, expr: total == nil || total < 10000, error_type: TOTAL_TOO_HIGH}
`)
	tb.goodWant = append(tb.goodWant, "39.98", "SALE#2", "false", "1")
	tb.run(t, []rowCase{
		{in: []string{"3", "19.99", "Sale"}, want: []string{"3", "19.99", "sale", "59.97", "SALE#3", "false", nullText}},
		{in: []string{"10", "10.01", ""}, want: []string{"10", "10.01", nullText, "100.10", "NONE#10", "true", nullText}},
		{in: []string{"2", "", "gift"}, want: []string{"2", nullText, "gift", nullText, "GIFT#2", "false", "1"}},
		{in: []string{"7", "0.10", "x"}, want: []string{"7", "0.10", "x", "0.70", "X#7", "false", nullText}},
		{in: []string{"100", "100", "x"}, errType: "TOTAL_TOO_HIGH", reason: []string{"total_cap: total == nil || total < 10000 does not hold (total: 10000.00)"}},
	})
}

func TestDeriveFailures(t *testing.T) {
	tb := orderTable(`
derive:
  - {name: total, type: decimal, precision: 4, scale: 2, expr: "price * qty"}
`)
	tb.goodWant = append(tb.goodWant, "39.98")
	tb.run(t, []rowCase{
		{in: []string{"3", "1.11", "x"}, want: []string{"3", "1.11", "x", "3.33"}},
		{in: []string{"1000", "1.00", "x"}, errType: ErrDeriveFailed, reason: []string{"total: 1000 has more than 2 digits before the decimal point for decimal(4,2)"}},
		{in: []string{"1", "", "x"}, errType: ErrDeriveFailed, reason: []string{"total: "}},
	})
}

// configErrors returns the mistakes Configure finds in raw over the
// input columns.
func configErrors(t *testing.T, raw string, cols ...string) plugin.ConfigErrors {
	t.Helper()
	_, err := New().Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "clean", Raw: []byte(raw)}, textSchema(cols...))
	if err == nil {
		t.Fatalf("Configure accepted:\n%s", raw)
	}
	return plugin.AsConfigErrors(err)
}

// wantConfigErrors checks that es has a mistake at each path of want whose
// message contains the text, and no other mistakes.
func wantConfigErrors(t *testing.T, es plugin.ConfigErrors, want [][2]string) {
	t.Helper()
	if len(es) != len(want) {
		t.Errorf("%d mistakes, want %d: %v", len(es), len(want), es)
	}
	for _, w := range want {
		found := false
		for _, e := range es {
			found = found || e.Path == w[0] && strings.Contains(e.Message, w[1])
		}
		if !found {
			t.Errorf("no mistake at %s containing %q in %v", w[0], w[1], es)
		}
	}
}

// TestBadExpression checks that Configure refuses an expression naming the
// rule or derived field and the position of the mistake.
func TestBadExpression(t *testing.T) {
	cases := []struct {
		name, config, path, message string
	}{
		{"syntax", "rules: [{name: r1, expr: 'qty >'}]", "rules[0].expr", `rule "r1": unexpected token EOF at line 1, column 5`},
		{"type", `rules: [{name: r1, expr: 'qty >= "a"'}]`, "rules[0].expr", `rule "r1": invalid operation: >= (mismatched types int64 and string) at line 1, column 5`},
		{"unknown name", "rules: [{name: r1, expr: 'qty > 0 && nope'}]", "rules[0].expr", `rule "r1": unknown name nope at line 1, column 12`},
		{"not bool", "rules: [{name: r1, expr: 'qty + 1'}]", "rules[0].expr", `rule "r1": expected bool, but got int`},
		{"second line", "rules: [{name: r1, expr: \"qty > 0 &&\\n  price >\"}]", "rules[0].expr", `rule "r1": unexpected token EOF at line 2`},
		{"derive syntax", "derive: [{name: d1, type: int64, expr: 'qty *'}]", "derive[0].expr", `derive "d1": unexpected token EOF at line 1, column 5`},
		{"derive type", "derive: [{name: d1, type: int64, expr: 'kind + \"x\"'}]", "derive[0].expr", `derive "d1": gives string, which does not fit type int64`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := orderTable(tc.config).config
			wantConfigErrors(t, configErrors(t, raw, "qty", "price", "kind"), [][2]string{{tc.path, tc.message}})
		})
	}
}

// TestConfigErrorsTogether checks that every mistake of a configuration
// is reported at once, each at its key path.
func TestConfigErrorsTogether(t *testing.T) {
	es := configErrors(t, `
fields:
  - {name: a, type: integer}
  - {type: string}
  - {name: nowhere, type: string}
  - {name: t, type: timestamp, formats: [yyyy-mm-dd, "15:04", rfc3339], time_zone: Mars/Olympus}
  - {name: d, type: decimal, precision: 20}
  - {name: s, type: string, max_length: 5, on_overflow: cut, case: title}
rules:
  - {expr: 'a > 0'}
  - {name: r2, expr: 's >', error_type: bad}
`, "a", "t", "d", "s")
	wantConfigErrors(t, es, [][2]string{
		{"fields[0].type", `unknown type "integer"`},
		{"fields[1].name", "missing"},
		{"fields[2].name", `"nowhere" is not an input field (the input has a, t, d, s)`},
		{"fields[3].formats[0]", `"yyyy-mm-dd" has no Go layout elements`},
		{"fields[3].formats[1]", `layout "15:04" does not give a full date`},
		{"fields[3].time_zone", `unknown time zone "Mars/Olympus"`},
		{"fields[4].precision", "20 is not in [1, 18]"},
		{"fields[4].scale", "missing"},
		{"fields[5].on_overflow", `"cut": want truncate or reject`},
		{"fields[5].case", `"title": want upper or lower`},
		{"rules[0].name", "missing"},
		{"rules[1].error_type", `"bad": use upper-case letters`},
		{"rules[1].expr", `rule "r2": unexpected token EOF`},
	})
}

// A key of the wrong YAML type does not hide the other mistakes, and a
// rule reading a field whose type is a mistake is not reported for it.
func TestConfigMistakesAfterDecodeErrors(t *testing.T) {
	es := configErrors(t, `
fields:
  - {name: a, type: int64, max_length: three}
  - {name: b, type: int46}
  - {name: c, type: string, on_overflow: cut, max_length: 3}
rules:
  - {name: b_positive, expr: 'b > 0 && a > 0'}
  - {name: c_set, expr: 'c != nil &&'}
`, "a", "b", "c")
	wantConfigErrors(t, es, [][2]string{
		{"fields[0].max_length", "wrong type"},
		{"fields[1].type", `unknown type "int46"`},
		{"fields[2].on_overflow", `"cut": want truncate or reject`},
		{"rules[1].expr", `rule "c_set": unexpected token EOF`},
	})
}

// Configure with mistakes still answers the output schema it would have,
// so that the steps after it are checked in the same run.
func TestConfigMistakesKeepTheSchema(t *testing.T) {
	c := New()
	schema, err := c.Configure(context.Background(), plugin.Config{Raw: []byte(`
fields:
  - {name: a, type: int64}
  - {name: b, type: int46}
rules:
  - {name: r, expr: 'a >'}
`)}, textSchema("a", "b"))
	if err == nil {
		t.Fatal("Configure accepted the mistakes")
	}
	if got := strings.Join(schema.Names(), ","); got != "a,b" {
		t.Fatalf("schema after mistakes has %q, want a,b", got)
	}
}

// TestConfigMistakes covers the other mistakes Configure refuses, one at
// a time.
func TestConfigMistakes(t *testing.T) {
	cases := []struct {
		name, field, path, message string
	}{
		{"no fields", "", "fields", "list at least one field"},
		{"unknown key", "{name: s, type: string, colour: red}", "fields[0].colour", `unknown key "colour"`},
		{"missing type", "{name: s}", "fields[0].type", "missing"},
		{"duplicate", "{name: s, type: string}\n  - {name: s, type: int64}", "fields[1].name", `"s" is already declared at fields[0]`},
		{"max_length on int", "{name: s, type: int64, max_length: 3}", "fields[0].max_length", "only for string fields, not int64"},
		{"formats on string", "{name: s, type: string, formats: [unix]}", "fields[0].formats", "only for timestamp and date fields, not string"},
		{"scale on string", "{name: s, type: string, scale: 2}", "fields[0].scale", "only for decimal fields, not string"},
		{"negative max_length", "{name: s, type: string, max_length: -1}", "fields[0].max_length", "-1 is negative"},
		{"on_overflow alone", "{name: s, type: string, on_overflow: truncate}", "fields[0].on_overflow", "needs max_length"},
		{"otherwise alone", "{name: s, type: string, otherwise: X}", "fields[0].otherwise", "needs allowed"},
		{"alias outside allowed", "{name: s, type: string, allowed: [A], aliases: {b: B}}", "fields[0].aliases.b", `"B" is not in allowed`},
		{"alias collision", "{name: s, type: string, aliases: {add-to-cart: A, add_to_cart: B}}", "fields[0].aliases.add_to_cart", `both normalise to "addtocart"`},
		{"scale over precision", "{name: s, type: decimal, precision: 2, scale: 3}", "fields[0].scale", "3 is not in [0, precision 2]"},
		{"empty formats", "{name: s, type: timestamp, formats: []}", "fields[0].formats", "list at least one format"},
		{"bad not_before", "{name: s, type: timestamp, not_before: yesterday}", "fields[0].not_before", `"yesterday" is neither a date`},
		{"bad max_future", "{name: s, type: timestamp, max_future: soon}", "fields[0].max_future", `"soon" is not a duration`},
		{"negative max_future", "{name: s, type: timestamp, max_future: -1h}", "fields[0].max_future", `"-1h": a duration cannot be negative`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := "fields: []\n"
			if tc.field != "" {
				raw = "fields:\n  - " + tc.field + "\n"
			}
			wantConfigErrors(t, configErrors(t, raw, "s"), [][2]string{{tc.path, tc.message}})
		})
	}
}

// TestDeriveRounding checks that a float result is rounded to the scale of
// a decimal field half away from zero, as the number the float stands for.
func TestDeriveRounding(t *testing.T) {
	tb := table{
		config: `
fields:
  - {name: x, type: float64}
derive:
  - {name: r0, type: decimal, precision: 10, scale: 0, expr: "x"}
  - {name: r2, type: decimal, precision: 10, scale: 2, expr: "x"}
`,
		cols: []string{"x"}, good: []string{"1"}, goodWant: []string{"1", "1", "1.00"},
	}
	var cases []rowCase
	for _, c := range [][3]string{
		{"2.5", "3", "2.50"},
		{"-2.5", "-3", "-2.50"},
		{"0.5", "1", "0.50"},
		{"0.125", "0", "0.13"},
		{"-0.125", "0", "-0.13"},
		{"1.005", "1", "1.01"},
		{"0.994", "1", "0.99"},
		{"9.995", "10", "10.00"},
		{"-99.999", "-100", "-100.00"},
		{"0.1", "0", "0.10"},
		{"1e-07", "0", "0.00"},
		{"123456.785", "123457", "123456.79"},
	} {
		cases = append(cases, rowCase{in: c[:1], want: c[:]})
	}
	tb.run(t, cases)
}

func TestRoundHalfAway(t *testing.T) {
	cases := []struct {
		in    string
		scale int
		want  string
	}{
		{"12", 2, "12"},
		{"12.3", 2, "12.3"},
		{"12.345", 2, "12.35"},
		{"12.344", 2, "12.34"},
		{"9.5", 0, "10"},
		{"-9.5", 0, "-10"},
		{"0.4", 0, "0"},
		{"99.96", 1, "100.0"},
		{"-0.005", 2, "-0.01"},
		{"-0.004", 2, "-0.00"},
		{"0.00000000000000000009", 18, "0.000000000000000000"},
	}
	for _, tc := range cases {
		if got := string(roundHalfAway([]byte(tc.in), tc.scale)); got != tc.want {
			t.Errorf("roundHalfAway(%s, %d) = %s, want %s", tc.in, tc.scale, got, tc.want)
		}
	}
}
