package cleanser

import (
	"testing"
)

func TestInt16Field(t *testing.T) {
	oneField("type: int16", "1", "1").run(t, []rowCase{
		pass("32767", "32767"),
		pass("-32768", "-32768"),
		pass(" +7 ", "7"),
		reject("32768", ErrInvalidNumber, "is out of range for int16 (-32768 to 32767)"),
		reject("-32769", ErrInvalidNumber, "is out of range for int16 (-32768 to 32767)"),
		reject("99999999999999999999", ErrInvalidNumber, "is out of range for int16"),
		reject("1.5", ErrInvalidNumber, "is not a number"),
		reject("x", ErrInvalidNumber, "is not a number"),
	})
}

func TestInt32Field(t *testing.T) {
	oneField("type: int32", "1", "1").run(t, []rowCase{
		pass("2147483647", "2147483647"),
		pass("-2147483648", "-2147483648"),
		pass("0", "0"),
		reject("2147483648", ErrInvalidNumber, "is out of range for int32 (-2147483648 to 2147483647)"),
		reject("-2147483649", ErrInvalidNumber, "is out of range for int32"),
		reject("1e3", ErrInvalidNumber, "is not a number"),
	})
}

func TestDateField(t *testing.T) {
	t.Run("default ISO", func(t *testing.T) {
		oneField("type: date", "2024-01-01", "2024-01-01").run(t, []rowCase{
			pass("2024-02-29", "2024-02-29"),
			pass(" 1969-07-20 ", "1969-07-20"),
			pass("0001-01-01", "0001-01-01"),
			pass("9999-12-31", "9999-12-31"),
			reject("2023-02-29", ErrInvalidDate, "matches none of the date formats 2006-01-02"),
			reject("2024-13-01", ErrInvalidDate),
			reject("2024-1-5", ErrInvalidDate),
			reject("2024-01-01T00:00:00Z", ErrInvalidDate),
			reject("01/02/2024", ErrInvalidDate),
			reject("yesterday", ErrInvalidDate),
		})
	})
	t.Run("formats in order", func(t *testing.T) {
		oneField(`type: date, formats: ["02/01/2006", "2006-01-02", "Jan 2, 2006", "2006-01-02T15:04:05Z07:00"]`, "2024-01-01", "2024-01-01").run(t, []rowCase{
			pass("31/12/2023", "2023-12-31"),
			pass("2023-12-31", "2023-12-31"),
			pass("Mar 5, 2024", "2024-03-05"),
			// the day as written, in the value's own offset
			pass("2024-03-05T23:30:00-05:00", "2024-03-05"),
			reject("12/31/2023", ErrInvalidDate, "matches none of the date formats 02/01/2006, 2006-01-02"),
		})
	})
}

func TestDateFormatsAreCheckedAtConfigure(t *testing.T) {
	es := configErrors(t, `
fields:
  - {name: d, type: date, formats: ["2006-01-02", "15:04", "today", "2006-01"]}
  - {name: ts, type: int64, formats: ["2006-01-02"]}
`, "d", "ts")
	wantConfigErrors(t, es, [][2]string{
		{"fields[0].formats[1]", "does not give a full date"},
		{"fields[0].formats[2]", "has no Go layout elements"},
		{"fields[0].formats[3]", "does not give a full date"},
		{"fields[1].formats", "only for timestamp and date fields, not int64"},
	})
}

func TestUUIDField(t *testing.T) {
	const u = "123e4567-e89b-12d3-a456-426614174000"
	oneField("type: uuid", u, u).run(t, []rowCase{
		pass("123E4567-E89B-12D3-A456-426614174000", u),
		pass("123e4567e89b12d3a456426614174000", u),
		pass(" 123e4567-e89b-12d3-a456-426614174000 ", u),
		pass("00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"),
		reject("{123e4567-e89b-12d3-a456-426614174000}", ErrInvalidUUID, "is not a UUID"),
		reject("urn:uuid:123e4567-e89b-12d3-a456-426614174000", ErrInvalidUUID),
		reject("123e4567-e89b-12d3-a456-42661417400", ErrInvalidUUID),
		reject("123e4567-e89b-12d3-a456-4266141740000", ErrInvalidUUID),
		reject("123e4567-e89b12d3-a456-426614174000", ErrInvalidUUID),
		reject("g23e4567-e89b-12d3-a456-426614174000", ErrInvalidUUID),
		reject("session-42", ErrInvalidUUID),
	})
}

func TestJSONField(t *testing.T) {
	oneField("type: json", "{}", "{}").run(t, []rowCase{
		pass(`{"a": [1, 2.5, "x", null, true]}`, `{"a": [1, 2.5, "x", null, true]}`),
		pass(" [] ", "[]"),
		pass(`"text"`, `"text"`),
		pass("42", "42"),
		pass("false", "false"),
		pass(`{"é": "☕"}`, `{"é": "☕"}`),
		reject("{a: 1}", ErrInvalidJSON, "is not valid JSON"),
		reject(`{"a": 1,}`, ErrInvalidJSON, "is not valid JSON"),
		reject(`{"a": 1} {"b": 2}`, ErrInvalidJSON, "is not valid JSON"),
		reject("'x'", ErrInvalidJSON, "is not valid JSON"),
		reject("NaN", ErrInvalidJSON, "is not valid JSON"),
		reject("\"\xff\"", ErrInvalidJSON, "is not valid UTF-8"),
	})
}

func TestBytesField(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		oneField("type: bytes", "ab", "6162").run(t, []rowCase{
			pass("\xff\x00x", "ff0078"),
			pass("é", "c3a9"),
			pass(" x ", "78"), // trimmed, as any field
		})
	})
	t.Run("text untrimmed", func(t *testing.T) {
		oneField("type: bytes, encoding: text, trim: false, null_values: []", "ab", "6162").run(t, []rowCase{
			pass(" x ", "207820"),
			pass("", ""),
		})
	})
	t.Run("hex", func(t *testing.T) {
		oneField("type: bytes, encoding: hex", "00", "00").run(t, []rowCase{
			pass("DEADbeef", "deadbeef"),
			pass(`\xdeadbeef`, "deadbeef"),
			pass(`\x`, ""),
			reject("abc", ErrInvalidBytes, "is not hex"),
			reject("zz", ErrInvalidBytes, "is not hex"),
			reject("de ad", ErrInvalidBytes, "is not hex"),
		})
	})
	t.Run("base64", func(t *testing.T) {
		oneField("type: bytes, encoding: base64", "AA==", "00").run(t, []rowCase{
			pass("3q2+7w==", "deadbeef"),
			pass("aGk=", "6869"),
			reject("aGk", ErrInvalidBytes, "is not standard base64"),
			reject("a-_k", ErrInvalidBytes, "is not standard base64"),
			reject("!!!!", ErrInvalidBytes, "is not standard base64"),
		})
	})
}

func TestBytesEncodingIsChecked(t *testing.T) {
	es := configErrors(t, `
fields:
  - {name: b, type: bytes, encoding: base32}
  - {name: s, type: string, encoding: hex}
`, "b", "s")
	wantConfigErrors(t, es, [][2]string{
		{"fields[0].encoding", `"base32": want text, hex or base64`},
		{"fields[1].encoding", "only for bytes fields, not string"},
	})
}

// TestNewTypesInExpressions checks the value each new type has in rules
// and derived fields: int16/int32 are int64, a date a time.Time at
// midnight UTC, a uuid its canonical text, json and bytes strings.
func TestNewTypesInExpressions(t *testing.T) {
	tb := table{
		config: `
fields:
  - {name: q, type: int16}
  - {name: n, type: int32}
  - {name: d, type: date}
  - {name: u, type: uuid}
  - {name: j, type: json}
  - {name: b, type: bytes, encoding: hex}
rules:
  - {name: q_positive, expr: "q == nil || q > 0"}
  - {name: recent, expr: "d == nil || d >= date('2020-01-01')"}
  - {name: v4, expr: "u == nil || u[14:15] == '4'"}
  - {name: object, expr: "j == nil || j startsWith '{'"}
  - {name: short, expr: "b == nil || len(b) <= 4"}
derive:
  - {name: next_day, type: date, expr: "d == nil ? nil : d.Add(duration('24h'))"}
  - {name: n_small, type: int16, expr: "n"}
  - {name: u_text, type: string, expr: "u"}
  - {name: u_again, type: uuid, expr: "u == nil ? nil : upper(u)"}
  - {name: wrapped, type: json, expr: "j == nil ? nil : '[' + j + ']'"}
`,
		cols: []string{"q", "n", "d", "u", "j", "b"},
		good: []string{"5", "7", "2024-02-28", "123e4567-e89b-42d3-a456-426614174000", `{"k":1}`, "0102"},
		goodWant: []string{"5", "7", "2024-02-28", "123e4567-e89b-42d3-a456-426614174000", `{"k":1}`, "0102",
			"2024-02-29", "7", "123e4567-e89b-42d3-a456-426614174000", "123e4567-e89b-42d3-a456-426614174000", `[{"k":1}]`},
	}
	row := func(edit func([]string)) []string {
		r := append([]string(nil), tb.good...)
		edit(r)
		return r
	}
	tb.run(t, []rowCase{
		{name: "q not positive", in: row(func(r []string) { r[0] = "-1" }), errType: ErrRuleViolation, reason: []string{"q_positive", "(q: -1)"}},
		{name: "old date", in: row(func(r []string) { r[2] = "2019-12-31" }), errType: ErrRuleViolation, reason: []string{"recent", "(d: 2019-12-31)"}},
		{name: "not v4", in: row(func(r []string) { r[3] = "123e4567-e89b-12d3-a456-426614174000" }), errType: ErrRuleViolation, reason: []string{"v4", "(u: 123e4567-e89b-12d3-a456-426614174000)"}},
		{name: "json array", in: row(func(r []string) { r[4] = "[1]" }), errType: ErrRuleViolation, reason: []string{"object", "(j: [1])"}},
		{name: "long bytes", in: row(func(r []string) { r[5] = "0102030405" }), errType: ErrRuleViolation, reason: []string{"short"}},
		{name: "int32 into int16", in: row(func(r []string) { r[1] = "40000" }), errType: ErrDeriveFailed, reason: []string{"n_small: 40000 is out of range for int16 (-32768 to 32767)"}},
	})
}
