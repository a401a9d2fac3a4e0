package cleanser

import (
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/record"
)

func TestStringField(t *testing.T) {
	oneField("type: string", "abc", "abc").run(t, []rowCase{
		pass("Blue Mug", "Blue Mug"),
		pass("  padded\t", "padded"),
		pass("café ☕", "café ☕"),
		pass("Null", "Null"), // null values are matched exactly
		pass("None", "None"),
		reject("Mug \xff", ErrInvalidText, "is not valid UTF-8"),
		reject("a\x00b", ErrInvalidText, "contains a NUL byte"),
	})
}

func TestInt64Field(t *testing.T) {
	oneField("type: int64", "1", "1").run(t, []rowCase{
		pass("42", "42"),
		pass(" -42 ", "-42"),
		pass("+42", "42"),
		pass("007", "7"),
		pass("0", "0"),
		pass("9223372036854775807", "9223372036854775807"),
		pass("-9223372036854775808", "-9223372036854775808"),
		reject("9223372036854775808", ErrInvalidNumber, "is out of range for int64"),
		reject("-9223372036854775809", ErrInvalidNumber, "is out of range for int64"),
		reject("99999999999999999999999", ErrInvalidNumber, "is out of range for int64"),
		reject("4.2", ErrInvalidNumber, "is not a number"),
		reject("1e3", ErrInvalidNumber, "is not a number"),
		reject("0x10", ErrInvalidNumber, "is not a number"),
		reject("1_000", ErrInvalidNumber, "is not a number"),
		reject("1 000", ErrInvalidNumber, "is not a number"),
		reject("-", ErrInvalidNumber, "is not a number"),
		reject("+", ErrInvalidNumber, "is not a number"),
		reject("--1", ErrInvalidNumber, "is not a number"),
		reject("٣", ErrInvalidNumber, "is not a number"),
		reject("u42", ErrInvalidNumber, "is not a number"),
	})
}

func TestDecimalField(t *testing.T) {
	t.Run("precision 5 scale 2", func(t *testing.T) {
		oneField("type: decimal, precision: 5, scale: 2", "1", "1.00").run(t, []rowCase{
			pass("19.99", "19.99"), // exact, never through a float
			pass("0.1", "0.10"),
			pass("999.99", "999.99"),
			pass("-999.99", "-999.99"),
			pass("+1.5", "1.50"),
			pass("-.5", "-0.50"),
			pass(".5", "0.50"),
			pass("5.", "5.00"),
			pass("1.990", "1.99"),       // trailing zeros are not digits too many
			pass("00012.3", "12.30"),    // nor leading ones
			pass("0.000000", "0.00"),    //
			pass("-0", "0.00"),          //
			pass(" 19.99 ", "19.99"),    //
			pass("123.45", "123.45"),    //
			pass("0.07", "0.07"),        //
			pass("100.10", "100.10"),    //
			pass("-0.01", "-0.01"),      //
			pass("000000999", "999.00"), //
			reject("1000", ErrInvalidNumber, `"1000" has more than 3 digits before the decimal point for decimal(5,2)`),
			reject("1000.00", ErrInvalidNumber, `"1000.00" has more than 3 digits before the decimal point for decimal(5,2)`),
			reject("19.999", ErrInvalidNumber, `"19.999" has more than 2 decimal places for decimal(5,2)`),
			reject("0.001", ErrInvalidNumber, `"0.001" has more than 2 decimal places for decimal(5,2)`),
			reject("-1000", ErrInvalidNumber, `"-1000" has more than 3 digits before the decimal point for decimal(5,2)`),
			reject("1000.001", ErrInvalidNumber, `"1000.001" has more than 2 decimal places for decimal(5,2)`), // the places are told first, as ParseDecimal checks them first
			reject("abc", ErrInvalidNumber, "is not a number"),
			reject("$1.00", ErrInvalidNumber, "is not a number"),
			reject("1,5", ErrInvalidNumber, "is not a number"),
			reject("1e2", ErrInvalidNumber, "is not a number"),
			reject("1..2", ErrInvalidNumber, "is not a number"),
			reject(".", ErrInvalidNumber, "is not a number"),
			reject("-", ErrInvalidNumber, "is not a number"),
			reject("NaN", ErrInvalidNumber, "is not a number"),
			reject("19.999x", ErrInvalidNumber, "is not a number"), // not "too many digits"
			reject("0.001.5", ErrInvalidNumber, "is not a number"),
		})
	})
	t.Run("precision 18 scale 4", func(t *testing.T) {
		// Beyond what a float64 holds exactly.
		oneField("type: decimal, precision: 18, scale: 4", "0", "0.0000").run(t, []rowCase{
			pass("12345678901234.5678", "12345678901234.5678"),
			pass("-99999999999999.9999", "-99999999999999.9999"),
			pass("0.1", "0.1000"),
			reject("100000000000000", ErrInvalidNumber, "has more than 14 digits before the decimal point for decimal(18,4)"),
			reject("1.00001", ErrInvalidNumber, "has more than 4 decimal places for decimal(18,4)"),
		})
	})
	t.Run("scale 0", func(t *testing.T) {
		oneField("type: decimal, precision: 3, scale: 0", "0", "0").run(t, []rowCase{
			pass("999", "999"),
			pass("1.0", "1"),
			reject("1000", ErrInvalidNumber, "has more than 3 digits before the decimal point for decimal(3,0)"),
			reject("1.5", ErrInvalidNumber, `"1.5" has decimal places; decimal(3,0) holds whole numbers`),
			reject(".1A", ErrInvalidNumber, "is not a number"),
		})
	})
	// Defect 13: the reason says whether the places or the integer digits
	// are too many, and how many the type allows.
	t.Run("reasons say which part is too long", func(t *testing.T) {
		tests := []struct {
			typ, zero, in, reason string // zero: how 0, the good row, comes out
		}{
			{"precision: 12, scale: 2", "0.00", "35.799", `v: "35.799" has more than 2 decimal places for decimal(12,2)`},
			{"precision: 12, scale: 2", "0.00", "-35.7991", `v: "-35.7991" has more than 2 decimal places for decimal(12,2)`},
			{"precision: 12, scale: 2", "0.00", "12345678901", `v: "12345678901" has more than 10 digits before the decimal point for decimal(12,2)`},
			{"precision: 12, scale: 2", "0.00", "12345678901.50", `v: "12345678901.50" has more than 10 digits before the decimal point for decimal(12,2)`},
			{"precision: 4, scale: 1", "0.0", "1.25", `v: "1.25" has more than 1 decimal place for decimal(4,1)`},
			{"precision: 2, scale: 1", "0.0", "10", `v: "10" has more than 1 digit before the decimal point for decimal(2,1)`},
			{"precision: 2, scale: 2", "0.00", "1.5", `v: "1.5" has digits before the decimal point; decimal(2,2) holds less than 1`},
		}
		for _, tt := range tests {
			t.Run(tt.typ+" "+tt.in, func(t *testing.T) {
				oneField("type: decimal, "+tt.typ, "0", tt.zero).run(t, []rowCase{
					reject(tt.in, ErrInvalidNumber, tt.reason),
				})
			})
		}
	})
}

func TestFloat64Field(t *testing.T) {
	oneField("type: float64", "1", "1").run(t, []rowCase{
		pass("1.5", "1.5"),
		pass("0.1", "0.1"),
		pass("-2e3", "-2000"),
		pass(" 3.25 ", "3.25"),
		pass("1e308", "1e+308"),
		pass("5e-324", "5e-324"),
		reject("1e309", ErrInvalidNumber, "is not a finite number"),
		reject("-1e309", ErrInvalidNumber, "is not a finite number"),
		reject("NaN", ErrInvalidNumber, "is not a finite number"),
		reject("Inf", ErrInvalidNumber, "is not a finite number"),
		reject("infinity", ErrInvalidNumber, "is not a finite number"),
		reject("1.5.2", ErrInvalidNumber, "is not a finite number"),
		reject("abc", ErrInvalidNumber, "is not a finite number"),
	})
}

func TestBoolField(t *testing.T) {
	var cases []rowCase
	for _, s := range []string{"true", "TRUE", "True", "t", "T", "yes", "YES", "y", "Y", "on", "ON", "1", " true "} {
		cases = append(cases, pass(s, "true"))
	}
	for _, s := range []string{"false", "FALSE", "f", "F", "no", "No", "n", "N", "off", "Off", "0"} {
		cases = append(cases, pass(s, "false"))
	}
	for _, s := range []string{"2", "truee", "onn", "of", "yes please", "-1", "é"} {
		cases = append(cases, reject(s, ErrInvalidBoolean, "is not a boolean"))
	}
	oneField("type: bool", "true", "true").run(t, cases)
}

// TestNullValues covers null_values, default and custom, on nullable and
// required fields of several types.
func TestNullValues(t *testing.T) {
	t.Run("default nullable", func(t *testing.T) {
		var cases []rowCase
		for _, s := range []string{"", "null", "NULL", "N/A", "none", "  ", " null ", null} {
			cases = append(cases, pass(s, nullText))
		}
		oneField("type: int64", "1", "1").run(t, cases)
	})
	t.Run("default required", func(t *testing.T) {
		oneField("type: int64, required: true", "1", "1").run(t, []rowCase{
			missing("", "empty"),
			missing("   ", "empty"),
			missing(null, "null"),
			missing("NULL", `"NULL"`),
			missing(" N/A ", `"N/A"`),
			missing("none", `"none"`),
		})
	})
	t.Run("custom", func(t *testing.T) {
		oneField(`type: string, null_values: ["-", "?", "nil"]`, "x", "x").run(t, []rowCase{
			pass("-", nullText),
			pass(" ? ", nullText),
			pass("nil", nullText),
			pass(null, nullText),
			pass("", ""), // no longer null
			pass("null", "null"),
			pass("N/A", "N/A"),
		})
	})
	t.Run("custom required", func(t *testing.T) {
		oneField(`type: decimal, precision: 4, scale: 1, required: true, null_values: ["-"]`, "1", "1.0").run(t, []rowCase{
			missing("-", `"-"`),
			missing(null, "null"),
			reject("", ErrInvalidNumber, "is not a number"),
			reject("null", ErrInvalidNumber, "is not a number"),
		})
	})
	t.Run("none", func(t *testing.T) {
		oneField("type: string, null_values: []", "x", "x").run(t, []rowCase{
			pass("", ""),
			pass("null", "null"),
			pass(null, nullText), // a null cell stays null
		})
	})
}

func TestTrim(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		oneField("type: string", "x", "x").run(t, []rowCase{
			pass(" \t a b \r\n", "a b"),
			pass("\u00a0nbsp\u2003", "nbsp"), // Unicode white space too
		})
	})
	t.Run("false", func(t *testing.T) {
		oneField("type: string, trim: false", "x", "x").run(t, []rowCase{
			pass(" a b ", " a b "),
			pass("  ", "  "),         // not empty, so not null
			pass(" null ", " null "), // not a null value as it is
			pass("", nullText),       //
			pass("\tx\n", "\tx\n"),   //
		})
	})
	t.Run("false typed", func(t *testing.T) {
		oneField("type: int64, trim: false", "1", "1").run(t, []rowCase{
			pass("42", "42"),
			rejectAs(" 42", " 42", ErrInvalidNumber, "is not a number"),
			rejectAs("42 ", "42 ", ErrInvalidNumber, "is not a number"),
		})
	})
}

func TestMaxLength(t *testing.T) {
	t.Run("reject by default", func(t *testing.T) {
		oneField("type: string, max_length: 3", "ab", "ab").run(t, []rowCase{
			pass("abc", "abc"),
			pass("été", "été"), // characters, not bytes
			pass(" abc ", "abc"),
			reject("abcd", ErrTooLong, "has 4 characters, more than 3"),
			reject("étés", ErrTooLong, "has 4 characters, more than 3"),
		})
	})
	t.Run("reject", func(t *testing.T) {
		oneField("type: string, max_length: 2, on_overflow: reject", "ab", "ab").run(t, []rowCase{
			pass("日本", "日本"),
			reject("日本語", ErrTooLong, "has 3 characters, more than 2"),
		})
	})
	t.Run("truncate", func(t *testing.T) {
		oneField("type: string, max_length: 3, on_overflow: truncate", "ab", "ab").run(t, []rowCase{
			pass("abc", "abc"),
			pass("abcdef", "abc"),
			pass("ééééé", "ééé"),
			pass("日本語テキスト", "日本語"),
			pass("👍👍👍👍", "👍👍👍"),
			pass("aé👍x", "aé👍"),
			pass("  abcd  ", "abc"),
		})
	})
	t.Run("truncate after case", func(t *testing.T) {
		oneField("type: string, max_length: 4, on_overflow: truncate, case: upper", "ab", "AB").run(t, []rowCase{
			pass("straße", "STRA"),
			pass("éèêëē", "ÉÈÊË"),
		})
	})
}

func TestCase(t *testing.T) {
	t.Run("upper", func(t *testing.T) {
		oneField("type: string, case: upper", "A", "A").run(t, []rowCase{
			pass("Blue mug", "BLUE MUG"),
			pass("café", "CAFÉ"),
			pass("ABC", "ABC"),
		})
	})
	t.Run("lower", func(t *testing.T) {
		oneField("type: string, case: lower", "a", "a").run(t, []rowCase{
			pass("Blue MUG", "blue mug"),
			pass("ÉTÉ", "été"),
			pass("abc", "abc"),
		})
	})
}

func TestAliases(t *testing.T) {
	const aliases = `aliases: {page view: VIEW, addToCart: ADD_TO_CART, "Bought": PURCHASE}`
	t.Run("alone", func(t *testing.T) {
		oneField("type: string, "+aliases, "x", "x").run(t, []rowCase{
			pass("page view", "VIEW"),
			pass("Page View", "VIEW"),
			pass("page-view", "VIEW"),
			pass("PAGE_VIEW", "VIEW"),
			pass("pageview", "VIEW"),
			pass(" page  view ", "VIEW"),
			pass("page_-_view", "VIEW"),
			pass("add to cart", "ADD_TO_CART"),
			pass("ADD-TO-CART", "ADD_TO_CART"),
			pass("add_to_cart", "ADD_TO_CART"),
			pass("addtocart", "ADD_TO_CART"),
			pass("bought", "PURCHASE"),
			pass("BOUGHT", "PURCHASE"),
			pass("page views", "page views"), // not an alias: kept as it is
			pass("Other", "Other"),
		})
	})
	t.Run("with case", func(t *testing.T) {
		// case applies to values that are not aliases.
		oneField("type: string, case: lower, "+aliases, "x", "x").run(t, []rowCase{
			pass("Page View", "VIEW"),
			pass("Other Thing", "other thing"),
		})
	})
}

func TestAllowed(t *testing.T) {
	const colours = `type: string, allowed: [RED, GREEN, DARK_BLUE], aliases: {rouge: RED, vert: GREEN}`
	common := []rowCase{
		pass("RED", "RED"),
		pass("red", "RED"),
		pass(" Green ", "GREEN"),
		pass("dark blue", "DARK_BLUE"),
		pass("Dark-Blue", "DARK_BLUE"),
		pass("darkblue", "DARK_BLUE"),
		pass("ROUGE", "RED"),
		pass("vert", "GREEN"),
		pass("", nullText),
	}
	t.Run("otherwise value", func(t *testing.T) {
		oneField(colours+", otherwise: OTHER", "red", "RED").run(t, append(common,
			pass("blue", "OTHER"),
			pass("redd", "OTHER"),
			pass("☕", "OTHER"),
		))
	})
	t.Run("otherwise reject", func(t *testing.T) {
		oneField(colours+", otherwise: reject", "red", "RED").run(t, append(common,
			reject("blue", ErrRuleViolation, "is not one of RED, GREEN, DARK_BLUE"),
			reject("redd", ErrRuleViolation, "is not one of RED, GREEN, DARK_BLUE"),
		))
	})
	t.Run("no otherwise rejects", func(t *testing.T) {
		oneField(colours, "red", "RED").run(t, append(common,
			reject("blue", ErrRuleViolation, "is not one of RED, GREEN, DARK_BLUE"),
		))
	})
	t.Run("otherwise longer than max_length", func(t *testing.T) {
		oneField(colours+", otherwise: SOMETHING_ELSE, max_length: 9", "red", "RED").run(t, []rowCase{
			pass("dark blue", "DARK_BLUE"),
			rowCase{in: []string{"blue"}, errType: ErrTooLong, reason: []string{"v: ", "has 14 characters, more than 9"}},
		})
	})
}

// TestOutputSchema checks that a field is nullable unless required, and
// that types, scales and order follow the configuration.
func TestOutputSchema(t *testing.T) {
	_, out := configure(t, `
fields:
  - {name: s, type: string}
  - {name: i, type: int64, required: true}
  - {name: d, type: decimal, precision: 9, scale: 3}
  - {name: f, type: float64, required: true}
  - {name: b, type: bool}
  - {name: ts, type: timestamp, required: true}
derive:
  - {name: twice, type: int64, expr: "i * 2"}
`, textSchema("ts", "b", "f", "d", "i", "s", "dropped"))
	want := []record.Field{
		{Name: "s", Type: record.String, Nullable: true},
		{Name: "i", Type: record.Int64},
		{Name: "d", Type: record.Decimal, Scale: 3, Nullable: true},
		{Name: "f", Type: record.Float64},
		{Name: "b", Type: record.Bool, Nullable: true},
		{Name: "ts", Type: record.Timestamp},
		{Name: "twice", Type: record.Int64, Nullable: true},
	}
	if len(out.Fields) != len(want) {
		t.Fatalf("schema %+v, want %+v", out.Fields, want)
	}
	for i := range want {
		if out.Fields[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, out.Fields[i], want[i])
		}
	}
}

// TestEveryType puts a row of every type through one configuration, with
// the bad rows of each type among good ones.
func TestEveryType(t *testing.T) {
	tb := table{
		config: `
fields:
  - {name: s, type: string}
  - {name: i, type: int64}
  - {name: d, type: decimal, precision: 12, scale: 2}
  - {name: f, type: float64}
  - {name: b, type: bool}
  - {name: ts, type: timestamp}
`,
		cols:     []string{"s", "i", "d", "f", "b", "ts"},
		good:     []string{"x", "1", "19.99", "0.5", "yes", "2024-03-01T14:05:09Z"},
		goodWant: []string{"x", "1", "19.99", "0.5", "true", "2024-03-01T14:05:09Z"},
	}
	row := func(edit func([]string)) []string {
		r := append([]string(nil), tb.good...)
		edit(r)
		return r
	}
	allNull := []string{nullText, nullText, nullText, nullText, nullText, nullText}
	tb.run(t, []rowCase{
		{name: "all null", in: []string{"", "null", "NULL", "N/A", "none", null}, want: allNull},
		{name: "bad int", in: row(func(r []string) { r[1] = "x1" }), errType: ErrInvalidNumber, reason: []string{`i: "x1" is not a number`}},
		{name: "bad decimal", in: row(func(r []string) { r[2] = "1.234" }), errType: ErrInvalidNumber, reason: []string{`d: "1.234" has more than 2 decimal places for decimal(12,2)`}},
		{name: "bad float", in: row(func(r []string) { r[3] = "1,5" }), errType: ErrInvalidNumber, reason: []string{`f: "1,5" is not a finite number`}},
		{name: "bad bool", in: row(func(r []string) { r[4] = "maybe" }), errType: ErrInvalidBoolean, reason: []string{`b: "maybe" is not a boolean`}},
		{name: "bad timestamp", in: row(func(r []string) { r[5] = "soon" }), errType: ErrInvalidTimestamp, reason: []string{`ts: "soon" matches none of the formats rfc3339`}},
		{name: "first failure wins", in: row(func(r []string) { r[1], r[5] = "x", "y" }), errType: ErrInvalidNumber, reason: []string{`i: "x"`}},
		{name: "long text in reason", in: row(func(r []string) { r[1] = strings.Repeat("9", 80) }), errType: ErrInvalidNumber, reason: []string{`i: "` + strings.Repeat("9", 57) + `"…`}},
	})
}
