// Package cleanser is the transform that turns raw text fields, as a CSV
// source reads them, into clean typed rows: trimming, nulls, types,
// timestamps in several formats, standard spellings, and validation rules
// written as expr expressions (github.com/expr-lang/expr). configs/ecommerce.yaml
// is a commented example of every key.
//
// # Fields
//
// `fields` lists the output fields in order, each {name, type, ...}. The
// name is matched with an input field; input fields not listed are dropped,
// and a listed field missing from the input is a configuration error. An
// input field of type string is typed and cleaned; one that already has the
// field's type is kept (only `required` and timestamp bounds apply).
//
// Cleaning a text value goes: trim white space (`trim`, default true);
// texts in `null_values` (default "", "null", "NULL", "N/A", "none") are
// null, which `required` refuses; then the type:
//
//   - string: must be valid UTF-8 without NUL bytes (INVALID_TEXT), as
//     PostgreSQL refuses those. With `aliases` or `allowed`, the value is
//     normalised (lower-cased, spaces, '-' and '_' removed) and looked up
//     among the normalised alias spellings and allowed values, and replaced
//     by the canonical value found. With `allowed`, a value found nowhere
//     is replaced by `otherwise`, or refused when otherwise is reject or
//     unset (RULE_VIOLATION). Otherwise `case` (upper or lower) applies.
//     `max_length` counts characters; `on_overflow` is reject (TOO_LONG,
//     the default) or truncate.
//   - int64: optionally signed decimal digits (INVALID_NUMBER).
//   - int16, int32: the same, within -32768 to 32767 and -2147483648 to
//     2147483647; a value outside is INVALID_NUMBER, the reason naming
//     the range.
//   - decimal: `precision` (at most 18) and `scale`, as NUMERIC(p,s);
//     parsed exactly by record.ParseDecimal. A value with more digits than
//     the type holds is refused (INVALID_NUMBER), never rounded; the reason
//     says which part is too long, e.g. for decimal(12,2) "35.799 has more
//     than 2 decimal places", "12345678901 has more than 10 digits before
//     the decimal point".
//   - float64: a finite number (INVALID_NUMBER).
//   - bool: true/false, t/f, yes/no, y/n, on/off, 1/0 in any case
//     (INVALID_BOOLEAN).
//   - date: `formats` are Go layouts giving a full date, tried in order
//     (default [2006-01-02]), e.g. "02/01/2006" or "Jan 2, 2006". The date
//     is the day as written: a layout with a time and zone gives the day in
//     the value's own offset, never converted. Anything else is
//     INVALID_DATE.
//   - uuid: 32 hex digits in either case, as 8-4-4-4-12 with hyphens or
//     without any; the output is the 16 bytes. Braces ({...}), a urn:uuid:
//     prefix and any other form are refused (INVALID_UUID): they are rare
//     in data, and accepting them would hide a column mixing forms.
//   - json: the text must be one valid JSON value (encoding/json's Valid)
//     in valid UTF-8 (INVALID_JSON); it is kept as written, not
//     reformatted. A \u0000 escape passes, but a jsonb column refuses it
//     (the sink rejects the row as DB_REJECTED).
//   - bytes: `encoding` says how the text holds them: text (the default,
//     the text's own bytes, after trimming unless trim is false), hex
//     (pairs of hex digits in either case, optionally after \x as
//     PostgreSQL writes bytea) or base64 (standard alphabet with padding).
//     A text that does not decode is INVALID_BYTES.
//   - timestamp: `formats` are tried in order (default [rfc3339]): Go
//     layouts such as "2006-01-02 15:04:05", or rfc3339 (fraction optional),
//     rfc3339nano, unix, unix_ms, unix_us. The Unix formats are told apart
//     by their digit count, whatever their order: unix has 1 to 11 digits
//     (and an optional fraction after a '.'), unix_ms 12 to 14, unix_us 15
//     to 17; today these are 10, 13 and 16 digits. Layouts without a zone
//     are read in `time_zone` (an IANA name, default UTC). A zone
//     abbreviation (the layout's MST, with no numeric offset beside it) is
//     read, in this order, as the zone `time_zone` calls by that name at
//     that date, or from the table below, or GMT+h / GMT-h as UTC±h, or
//     tzdata's numeric names such as +07; any other abbreviation is
//     refused (INVALID_TIMESTAMP, naming it), never read as UTC. Names
//     written with more than one offset (CST, CDT, IST, BST, AST, ADT,
//     GST, SST) are not in the table: give a numeric offset, or the
//     time_zone that uses them. `not_before` (a
//     date or an RFC 3339 time) and `max_future` (a duration after the time
//     the batch is processed) bound the result. Output is UTC, to the
//     microsecond. Anything else is INVALID_TIMESTAMP.
//
// The zone abbreviations of the table, each with one offset whatever the
// date (a daylight saving name has its own: PDT is -07:00, CEST +02:00):
//
//	UTC, GMT, UT, Z  +00:00
//	WET +00:00  WEST +01:00  CET +01:00  CEST +02:00  EET +02:00  EEST +03:00
//	WAT +01:00  CAT +02:00  SAST +02:00  EAT +03:00
//	PKT +05:00  WIB +07:00  WITA +08:00  HKT +08:00  AWST +08:00  WIT +09:00
//	JST +09:00  ACST +09:30  ACDT +10:30  AEST +10:00  AEDT +11:00
//	ChST +10:00  NZST +12:00  NZDT +13:00
//	NST -03:30  NDT -02:30  EST -05:00  EDT -04:00  MST -07:00  MDT -06:00
//	PST -08:00  PDT -07:00  AKST -09:00  AKDT -08:00  HST -10:00  HDT -09:00
//
// PST and PDT are North American; with time_zone Asia/Manila they are the
// Philippines' (+08:00), as time_zone comes first. Abbreviations are upper
// case (ChST aside), as Go reads them.
//
// A field is nullable in the output schema unless it is required.
//
// # Expressions
//
// `derive` computes more output fields, {name, expr, type} (plus precision
// and scale for a decimal; a float result is rounded to the scale),
// appended after the fields in order; each sees the fields and the derived
// fields before it, and nil gives null. A derived value that does not fit
// its type is refused as DERIVE_FAILED.
//
// `rules` are {name, expr, error_type, message}: a boolean expression that
// must hold, over the fields and derived fields by name, e.g.
// `price == nil || price >= 0`. A row for which a rule is false, or fails
// to evaluate (`price >= 0` with a null price), is refused with the rule's
// error_type (default RULE_VIOLATION) and a reason naming the rule and the
// values it read. A rule made only of comparisons between fields and
// constants (==, !=, <, <=, >, >=, joined by &&, || and !), as most are,
// is also compiled to a Go function over the typed row, which decides it
// without building expr's environment of the row; what that function
// cannot decide (a null in an ordering, a string against a number) expr
// evaluates as written, so a rule means what expr says in every case.
//
// In expressions a string field is a string, an int64, int32 or int16 an
// int64, a float64 and a decimal a float64 (the stored value stays exact),
// a bool a bool, a timestamp a time.Time in UTC (compare with now(),
// date("2024-01-01"), duration("1h")), a date a time.Time at midnight UTC
// (`d >= date("2024-01-01")`), a uuid its canonical lower-case text
// (8-4-4-4-12), a json its text, a bytes a string holding the bytes
// (len counts bytes), and a null is nil. A derived field of a new type
// takes the same: an integer in range for int16/int32, a time.Time for a
// date (its day in UTC), text that parses for a uuid or json. Expressions are type-checked at
// Configure: a mistake is a configuration error at `rules[i].expr` or
// `derive[i].expr` naming the rule and the line and column in the
// expression.
//
// # Rejects
//
// A refused row becomes a record.Reject keeping its raw text and origin,
// with one of the error types above and a reason naming the field and the
// value, e.g. `price: "abc" is not a number`. The other rows of the batch
// pass untouched.
package cleanser
