package cleanser

import (
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/record"
)

func TestEcommerceSchema(t *testing.T) {
	_, out := configure(t, string(ecommerceConfig(t)), textSchema(ecommerceColumns...))
	want := []record.Field{
		{Name: "user_id", Type: record.Int64},
		{Name: "action", Type: record.String},
		{Name: "product_id", Type: record.Int64},
		{Name: "product_name", Type: record.String, Nullable: true},
		{Name: "price", Type: record.Decimal, Scale: 2, Nullable: true},
		{Name: "event_time", Type: record.Timestamp},
		{Name: "session_id", Type: record.String, Nullable: true},
	}
	if len(out.Fields) != len(want) {
		t.Fatalf("schema has %d fields, want %d: %+v", len(out.Fields), len(want), out.Fields)
	}
	for i, f := range want {
		if out.Fields[i] != f {
			t.Errorf("field %d = %+v, want %+v", i, out.Fields[i], f)
		}
	}
}

func TestEcommerceActionSpellings(t *testing.T) {
	cases := map[string][]string{
		"VIEW":             {"view", "viewed", "page view", "page_view", "pageview", "VIEW", "View", " Page-View ", "PAGE_VIEW"},
		"ADD_TO_CART":      {"add to cart", "add-to-cart", "add_to_cart", "addToCart", "cart", "added to cart", "ADD_TO_CART", "Add To Cart"},
		"REMOVE_FROM_CART": {"remove", "remove from cart", "remove-from-cart", "removeFromCart", "removed", "REMOVE_FROM_CART"},
		"PURCHASE":         {"buy", "bought", "purchased", "checkout", "order", "purchase", "PURCHASE", "Buy"},
		"UNKNOWN":          {"refund", "wishlist", "viewing", "add", "??"},
	}
	c := ecommerce(t)
	for want, spellings := range cases {
		for _, s := range spellings {
			t.Run(want+"/"+s, func(t *testing.T) {
				e := goodEvent()
				e.action = s
				out, rejects := process(t, c, textBatch(e.cells()))
				if len(rejects) != 0 || out.Len() != 1 {
					t.Fatalf("rejected: %+v", rejects)
				}
				if got := out.Text(0, 1); got != want {
					t.Errorf("action %q became %q, want %q", s, got, want)
				}
			})
		}
	}
}

func TestEcommerceEventTimeFormats(t *testing.T) {
	want := time.Date(2024, 3, 1, 14, 5, 9, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2024-03-01T14:05:09Z", want},
		{"2024-03-01T14:05:09.123456Z", want.Add(123456 * time.Microsecond)},
		{"2024-03-01T14:05:09.1234567Z", want.Add(123456 * time.Microsecond)}, // kept to the µs
		{"2024-03-01T16:05:09+02:00", want},
		{"2024-03-01T09:05:09.5-05:00", want.Add(500 * time.Millisecond)},
		{"2024-03-01 14:05:09", want},
		{"2024-03-01 14:05:09.25", want.Add(250 * time.Millisecond)},
		{"2024-03-01T14:05:09", want},
		{"2024/03/01 14:05:09", want},
		{"03/01/2024 14:05:09", want},
		{"01 Mar 2024 14:05:09", want},
		{"1709301909", want},
		{"1709301909123", want.Add(123 * time.Millisecond)},
		{"  1709301909  ", want},
	}
	c := ecommerce(t)
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			e := goodEvent()
			e.eventTime = tc.in
			out, rejects := process(t, c, textBatch(e.cells()))
			if len(rejects) != 0 {
				t.Fatalf("rejected: %+v", rejects)
			}
			if got := out.Timestamp(0, 5); !got.Equal(tc.want) {
				t.Errorf("event_time %q = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestEcommerceCleansValues(t *testing.T) {
	c := ecommerce(t)
	cases := []struct {
		name string
		edit func(*event)
		col  int
		want string // the cell as text; "<null>" for null
	}{
		{"padded user id", func(e *event) { e.userID = "  42 " }, 0, "42"},
		{"price exact", func(e *event) { e.price = "19.99" }, 4, "19.99"},
		{"price one decimal", func(e *event) { e.price = "5.5" }, 4, "5.50"},
		{"price integer", func(e *event) { e.price = "12" }, 4, "12.00"},
		{"price trailing zeros", func(e *event) { e.price = "3.1400" }, 4, "3.14"},
		{"price empty", func(e *event) { e.price = "" }, 4, "<null>"},
		{"price null cell", func(e *event) { e.price = null }, 4, "<null>"},
		{"session empty", func(e *event) { e.sessionID = "" }, 6, "<null>"},
		{"session null", func(e *event) { e.sessionID = "null" }, 6, "<null>"},
		{"session NULL", func(e *event) { e.sessionID = "NULL" }, 6, "<null>"},
		{"session N/A", func(e *event) { e.sessionID = "N/A" }, 6, "<null>"},
		{"session none", func(e *event) { e.sessionID = " none " }, 6, "<null>"},
		{"session padded", func(e *event) { e.sessionID = " abc " }, 6, "abc"},
		{"session 50 chars", func(e *event) { e.sessionID = strings.Repeat("s", 50) }, 6, strings.Repeat("s", 50)},
		{"name with comma and quote", func(e *event) { e.productName = `Mug, "Blue"` }, 3, `Mug, "Blue"`},
		{"name 100 characters", func(e *event) { e.productName = strings.Repeat("é", 100) }, 3, strings.Repeat("é", 100)},
		{"name empty", func(e *event) { e.productName = "" }, 3, "<null>"},
		{"zero price", func(e *event) { e.price = "0" }, 4, "0.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := goodEvent()
			tc.edit(&e)
			out, rejects := process(t, c, textBatch(e.cells()))
			if len(rejects) != 0 {
				t.Fatalf("rejected: %+v", rejects)
			}
			got := "<null>"
			if !out.IsNull(0, tc.col) {
				switch tc.col {
				case 0, 2:
					got = record.FormatDecimal(out.Int64(0, tc.col), 0)
				case 4:
					got = record.FormatDecimal(out.Decimal(0, tc.col), 2)
				default:
					got = out.Text(0, tc.col)
				}
			}
			if got != tc.want {
				t.Errorf("column %d = %q, want %q", tc.col, got, tc.want)
			}
		})
	}
}

func TestEcommerceRejects(t *testing.T) {
	c := ecommerce(t)
	future := time.Now().UTC().Add(3 * time.Hour).Format(time.RFC3339)
	soon := time.Now().UTC().Add(30 * time.Minute).Format(time.RFC3339)
	cases := []struct {
		name      string
		edit      func(*event)
		errorType string // "" when the row passes
		reason    string // a part of the reason
	}{
		{"empty user id", func(e *event) { e.userID = "" }, "MISSING_REQUIRED", "user_id: required but empty"},
		{"null user id", func(e *event) { e.userID = null }, "MISSING_REQUIRED", "user_id: required but null"},
		{"NULL action", func(e *event) { e.action = "NULL" }, "MISSING_REQUIRED", `action: required but "NULL"`},
		{"blank action", func(e *event) { e.action = "   " }, "MISSING_REQUIRED", "action: required but empty"},
		{"empty product id", func(e *event) { e.productID = "" }, "MISSING_REQUIRED", "product_id: required"},
		{"empty event time", func(e *event) { e.eventTime = "" }, "MISSING_REQUIRED", "event_time: required"},
		{"price not a number", func(e *event) { e.price = "abc" }, "INVALID_NUMBER", `price: "abc" is not a number`},
		{"price with currency", func(e *event) { e.price = "$19.99" }, "INVALID_NUMBER", `price: "$19.99" is not a number`},
		{"price three decimals", func(e *event) { e.price = "19.999" }, "INVALID_NUMBER", `price: "19.999" has more than 2 decimal places for decimal(12,2)`},
		{"price eleven integer digits", func(e *event) { e.price = "12345678901" }, "INVALID_NUMBER", `price: "12345678901" has more than 10 digits before the decimal point for decimal(12,2)`},
		{"price ten integer digits", func(e *event) { e.price = "1234567890.12" }, "", ""},
		{"price exponent", func(e *event) { e.price = "1e3" }, "INVALID_NUMBER", "is not a number"},
		{"user id not a number", func(e *event) { e.userID = "u42" }, "INVALID_NUMBER", `user_id: "u42" is not a number`},
		{"user id decimal", func(e *event) { e.userID = "4.2" }, "INVALID_NUMBER", `user_id: "4.2" is not a number`},
		{"product id overflow", func(e *event) { e.productID = "99999999999999999999" }, "INVALID_NUMBER", "out of range for int64"},
		{"negative price", func(e *event) { e.price = "-5.00" }, "RULE_VIOLATION", "price_not_negative: price must not be negative (price: -5.00)"},
		{"zero user id", func(e *event) { e.userID = "0" }, "RULE_VIOLATION", "ids_positive: user_id and product_id must be positive (user_id: 0, product_id: 7)"},
		{"negative product id", func(e *event) { e.productID = "-7" }, "RULE_VIOLATION", "ids_positive"},
		{"purchase without price", func(e *event) { e.action, e.price = "bought", "" }, "RULE_VIOLATION", `purchase_has_price: a purchase must have a price (action: "PURCHASE", price: null)`},
		{"view without price", func(e *event) { e.price = "" }, "", ""},
		{"name 101 characters", func(e *event) { e.productName = strings.Repeat("x", 101) }, "TOO_LONG", "product_name: \"xxx"},
		{"session 51 characters", func(e *event) { e.sessionID = strings.Repeat("s", 51) }, "TOO_LONG", "session_id:"},
		{"unparseable time", func(e *event) { e.eventTime = "yesterday" }, "INVALID_TIMESTAMP", `event_time: "yesterday" matches none of the formats rfc3339, 2006-01-02 15:04:05`},
		{"impossible date", func(e *event) { e.eventTime = "2024-02-30 10:00:00" }, "INVALID_TIMESTAMP", "matches none"},
		{"hour 24", func(e *event) { e.eventTime = "2024-03-01T24:00:00Z" }, "INVALID_TIMESTAMP", "matches none"},
		{"9-digit unix", func(e *event) { e.eventTime = "946684799" }, "INVALID_TIMESTAMP", "is before 2000-01-01T00:00:00Z"},
		{"before 2000", func(e *event) { e.eventTime = "1999-12-31 23:59:59" }, "INVALID_TIMESTAMP", `event_time: "1999-12-31 23:59:59" (1999-12-31T23:59:59Z) is before 2000-01-01T00:00:00Z`},
		{"first instant of 2000", func(e *event) { e.eventTime = "2000-01-01 00:00:00" }, "", ""},
		{"three hours ahead", func(e *event) { e.eventTime = future }, "INVALID_TIMESTAMP", "is more than 1h0m0s in the future"},
		{"half an hour ahead", func(e *event) { e.eventTime = soon }, "", ""},
		{"invalid UTF-8 name", func(e *event) { e.productName = "Mug \xff" }, "INVALID_TEXT", "is not valid UTF-8"},
		{"NUL in session", func(e *event) { e.sessionID = "a\x00b" }, "INVALID_TEXT", "contains a NUL byte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := goodEvent()
			tc.edit(&e)
			b := textBatch(goodEvent().cells(), e.cells(), goodEvent().cells())
			out, rejects := process(t, c, b)
			if tc.errorType == "" {
				if len(rejects) != 0 || out.Len() != 3 {
					t.Fatalf("want all 3 rows to pass, got %d and rejects %+v", out.Len(), rejects)
				}
				return
			}
			if len(rejects) != 1 || out.Len() != 2 {
				t.Fatalf("want 1 reject and 2 rows, got %d rows and rejects %+v", out.Len(), rejects)
			}
			r := rejects[0]
			if r.ErrorType != tc.errorType {
				t.Errorf("error type %s, want %s (reason %q)", r.ErrorType, tc.errorType, r.Reason)
			}
			if !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", r.Reason, tc.reason)
			}
			if r.Origin != (record.Origin{Source: "events.csv", Line: 3}) {
				t.Errorf("origin %v, want events.csv:3", r.Origin)
			}
			if r.Raw != strings.Join(e.cells(), ",") {
				t.Errorf("raw %q, want the input line", r.Raw)
			}
		})
	}
}

func TestEcommerceKeepsOriginAndRawOfPassingRows(t *testing.T) {
	c := ecommerce(t)
	bad := goodEvent()
	bad.price = "oops"
	rows := [][]string{goodEvent().cells(), bad.cells(), goodEvent().cells(), goodEvent().cells()}
	rows[2][1] = "buy"
	in := textBatch(rows...)
	out, rejects := process(t, c, in)
	if len(rejects) != 1 || out.Len() != 3 {
		t.Fatalf("got %d rows, rejects %+v", out.Len(), rejects)
	}
	for i, src := range []int{0, 2, 3} {
		if out.Origin(i) != in.Origin(src) {
			t.Errorf("row %d origin %v, want %v", i, out.Origin(i), in.Origin(src))
		}
		if string(out.Raw(i)) != string(in.Raw(src)) {
			t.Errorf("row %d raw %q, want %q", i, out.Raw(i), in.Raw(src))
		}
	}
	if out.Text(1, 1) != "PURCHASE" {
		t.Errorf("row 1 action %q, want PURCHASE", out.Text(1, 1))
	}
	// The output survives the wire encoding.
	data, err := out.MarshalArrow()
	if err != nil {
		t.Fatal(err)
	}
	back, err := record.UnmarshalArrow(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Check(); err != nil {
		t.Fatal(err)
	}
	if back.Len() != 3 || back.Decimal(2, 4) != 1999 || back.Int64(0, 0) != 42 {
		t.Errorf("decoded batch differs: %d rows, price %d", back.Len(), back.Decimal(2, 4))
	}
}
