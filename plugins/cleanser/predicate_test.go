package cleanser

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// predicateFields are the fields of the predicate tests: every type a
// predicate reads, all nullable.
const predicateFields = `
fields:
  - {name: qty, type: int64}
  - {name: small, type: int16}
  - {name: price, type: decimal, precision: 8, scale: 2}
  - {name: ratio, type: float64}
  - {name: kind, type: string}
  - {name: flag, type: bool}
  - {name: at, type: timestamp, formats: [rfc3339]}
`

// Rules a predicate decides, alone or with expr's help.
var predicateRules = []string{
	"qty > 0",
	"qty >= 0 && qty <= 2",
	"-1 < qty",
	"0 == qty",
	"qty != 1",
	"small > -2",
	"small == qty",
	"price == nil || price >= 0",
	"price != 0.3",
	"price < 1000",
	"price > 0",
	"qty == price",
	"qty < ratio",
	"ratio > 0.25",
	"ratio == 2",
	"ratio != ratio",
	"ratio <= -1.5",
	`kind == "sale"`,
	`kind != "sale" || price != nil`,
	`kind < "b"`,
	`kind == nil || kind >= "gift"`,
	`"sale" == kind`,
	"not (qty > 1)",
	"!flag",
	"flag",
	"flag == true",
	"flag != false || qty == nil",
	"nil == nil",
	"price == nil",
	"true && qty > 0",
	"qty > 0 or false",
	"qty > 0 and price > 0",
	"qty > 0 || price > 0",
	"(qty > 0 || kind == nil) && !(price < 0)",
	"0 < price",
	"2 >= small",
	"ratio < 3",
	"qty == 1.5",
	"price <= -0.5",
	"nil != kind",
	`"gift" > kind`,
}

// Rules only expr runs: they use what a predicate does not do.
var exprOnlyRules = []string{
	"len(kind) > 2",
	"qty + 1 > 2",
	`kind in ["sale", nil]`,
	`kind startsWith "s"`,
	"at == nil || at > date('2000-01-01')",
	"(qty ?? 0) > 1",
}

// TestPredicatesAgreeWithExpr runs every rule over random rows both as its
// predicate and as its expr program: wherever the predicate decides, it
// must decide as expr does. Each predicate must decide most rows, or it
// would only hand them to expr.
func TestPredicatesAgreeWithExpr(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(predicateFields + "rules:\n")
	for i, src := range append(append([]string{}, predicateRules...), exprOnlyRules...) {
		fmt.Fprintf(&sb, "  - {name: r%d, expr: %q}\n", i, src)
	}
	c, _ := configure(t, sb.String(), textSchema("qty", "small", "price", "ratio", "kind", "flag", "at"))
	p := c.plan
	if !p.fillEnv {
		t.Fatal("fillEnv is false, though some rules have no predicate")
	}
	for i := range p.rules {
		r := &p.rules[i]
		if want := i < len(predicateRules); (r.pred != nil) != want {
			t.Fatalf("rule %q: has a predicate %v, want %v", r.src, r.pred != nil, want)
		}
	}

	ints := []int64{-3, -1, 0, 1, 2, 1000}
	decimals := []int64{-100, 0, 1, 29, 30, 100000, 200}
	floats := []float64{-1.5, 0, 0.3, 0.25, 2, 1, math.NaN(), math.Inf(1)}
	texts := []string{"", "sale", "SALE", "gift", "a", "b", "zzz"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(v *value, n int, set func(int)) {
		*v = value{}
		if k := rng.IntN(n + 1); k == n {
			v.null = true
		} else {
			set(k)
		}
	}
	decided := make([]int, len(p.rules))
	const rows = 20000
	for n := 0; n < rows; n++ {
		vals := p.vals
		pick(&vals[0], len(ints), func(k int) { vals[0].i = ints[k] })
		pick(&vals[1], len(ints)-1, func(k int) { vals[1].i = ints[k] })
		pick(&vals[2], len(decimals), func(k int) { vals[2].i = decimals[k] })
		pick(&vals[3], len(floats), func(k int) { vals[3].f = floats[k] })
		pick(&vals[4], len(texts), func(k int) { vals[4].s = []byte(texts[k]) })
		pick(&vals[5], 2, func(k int) { vals[5].i = int64(k) })
		pick(&vals[6], 1, func(int) { vals[6].i = 1709301909000000 })
		p.boxFields()
		for i := range predicateRules {
			r := &p.rules[i]
			out, err := p.vm.Run(r.prog, p.env)
			exprHolds := err == nil && out == true
			switch r.pred(vals) {
			case holds, fails:
				decided[i]++
				if got := r.pred(vals) == holds; got != exprHolds {
					t.Fatalf("rule %q over %s: predicate says %v, expr says %v (%v, %v)",
						r.src, describeVals(p), got, exprHolds, out, err)
				}
			}
		}
	}
	for i, src := range predicateRules {
		if decided[i] < rows/2 {
			t.Errorf("rule %q: the predicate decided %d of %d rows, want at least half", src, decided[i], rows)
		}
	}
}

func describeVals(p *plan) string {
	var parts []string
	for i, f := range p.fields {
		parts = append(parts, f.name+"="+formatTyped(f.typ, f.scale, &p.vals[i]))
	}
	return strings.Join(parts, " ")
}

// TestRulesWithoutEnvironment checks a cleanser whose rules all have
// predicates: the environment is not filled row by row, and a rule that
// its predicate leaves undecided (an order with a null) still fails with
// expr's own message.
func TestRulesWithoutEnvironment(t *testing.T) {
	tb := orderTable(`
rules:
  - {name: qty_positive, expr: qty > 0}
  - {name: price_positive, expr: price > 0, message: price must be positive}
  - {name: sale_has_price, expr: 'kind != "sale" || price != nil'}
`)
	c, _ := configure(t, tb.config, textSchema(tb.cols...))
	if c.plan.fillEnv {
		t.Fatal("fillEnv is true, though every rule has a predicate")
	}
	tb.run(t, []rowCase{
		order("1", "0.01", "gift"),
		order("2", "19.99", "sale"),
		broken("0", "1.00", "sale", ErrRuleViolation, "qty_positive: qty > 0 does not hold (qty: 0)"),
		broken("1", "-1", "gift", ErrRuleViolation, "price_positive: price must be positive (price: -1.00)"),
		broken("1", "", "gift", ErrRuleViolation, "price_positive: price must be positive: ", "(price: null)"),
	})
}
