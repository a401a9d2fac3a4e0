package cleanser

import (
	"strconv"
	"testing"
	"time"
)

// tsField is a one-field table of a timestamp v with formats and more keys.
func tsField(formats, more string) table {
	cfg := "type: timestamp, formats: " + formats
	if more != "" {
		cfg += ", " + more
	}
	return oneField(cfg, "2024-03-01T14:05:09Z", "2024-03-01T14:05:09Z")
}

// noMatch is a timestamp case that no format parses; the reason lists them.
func noMatch(in, formats string) rowCase {
	return reject(in, ErrInvalidTimestamp, "matches none of the formats "+formats)
}

func TestTimestampFormats(t *testing.T) {
	const want = "2024-03-01T14:05:09Z"
	tests := []struct {
		name    string
		formats string // as in YAML; the good row is RFC 3339 so each list has it
		more    string
		cases   []rowCase
	}{
		{"default is rfc3339", "[rfc3339]", "", []rowCase{
			pass("2024-03-01T14:05:09Z", want),
		}},
		{"rfc3339", "[rfc3339]", "", []rowCase{
			pass("2024-03-01T14:05:09Z", want),
			pass("2024-03-01T14:05:09.5Z", "2024-03-01T14:05:09.5Z"),
			pass("2024-03-01T14:05:09.123456789Z", "2024-03-01T14:05:09.123456Z"), // kept to the µs
			pass("2024-03-01T16:05:09+02:00", want),
			pass("2024-03-01T09:35:09-04:30", want),
			pass("2024-03-01T14:05:09,5Z", "2024-03-01T14:05:09.5Z"),
			pass("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
			pass("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"),
			noMatch("2024-03-01 14:05:09", "rfc3339"),
			noMatch("2024-03-01T14:05:09", "rfc3339"),
			noMatch("2023-02-29T00:00:00Z", "rfc3339"),
			noMatch("2024-13-01T00:00:00Z", "rfc3339"),
			noMatch("2024-03-01T24:00:00Z", "rfc3339"),
			noMatch("2024-03-01T14:60:00Z", "rfc3339"),
			noMatch("2024-03-01T14:05:09+0200", "rfc3339"),
			noMatch("2024-03-01T14:05:09.Z", "rfc3339"),
			noMatch("1709301909", "rfc3339"),
		}},
		{"rfc3339nano", "[rfc3339nano]", "", []rowCase{
			pass("2024-03-01T14:05:09Z", want),
			pass("2024-03-01T14:05:09.999999999Z", "2024-03-01T14:05:09.999999Z"),
			pass("2024-03-01T15:05:09.000001+01:00", "2024-03-01T14:05:09.000001Z"),
			noMatch("2024-03-01", "rfc3339nano"),
		}},
		{"Go RFC 3339 layout", `[rfc3339, "2006-01-02T15:04:05Z07:00"]`, "", []rowCase{
			pass("2024-03-01T16:05:09+02:00", want),
		}},
		{"unix", "[rfc3339, unix]", "", []rowCase{
			pass("1709301909", want),
			pass(" 1709301909 ", want),
			pass("1709301909.5", "2024-03-01T14:05:09.5Z"),
			pass("1709301909.123456789", "2024-03-01T14:05:09.123456Z"),
			pass("0", "1970-01-01T00:00:00Z"),
			pass("-1", "1969-12-31T23:59:59Z"),
			pass("-1.5", "1969-12-31T23:59:58.5Z"),
			pass("99999999999", "5138-11-16T09:46:39Z"),
			noMatch("1709301909123", "rfc3339, unix"), // milliseconds: too many digits
			noMatch("1709301909.", "rfc3339, unix"),
			noMatch("1709301909.1234567890", "rfc3339, unix"),
			noMatch("+1709301909", "rfc3339, unix"),
			noMatch("1e9", "rfc3339, unix"),
			noMatch("-", "rfc3339, unix"),
		}},
		{"unix_ms", "[rfc3339, unix_ms]", "", []rowCase{
			pass("1709301909123", "2024-03-01T14:05:09.123Z"),
			pass("100000000000", "1973-03-03T09:46:40Z"),
			pass("-100000000000", "1966-10-31T14:13:20Z"),
			noMatch("1709301909", "rfc3339, unix_ms"), // seconds: too few digits
			noMatch("1709301909123456", "rfc3339, unix_ms"),
			noMatch("1709301909123.5", "rfc3339, unix_ms"),
		}},
		{"unix_us", "[rfc3339, unix_us]", "", []rowCase{
			pass("1709301909123456", "2024-03-01T14:05:09.123456Z"),
			pass("100000000000000", "1973-03-03T09:46:40Z"),
			noMatch("1709301909123", "rfc3339, unix_us"),
			noMatch("170930190912345678", "rfc3339, unix_us"),
		}},
		{"unix formats told apart by digits, whatever the order", "[unix_us, unix_ms, unix, rfc3339]", "", []rowCase{
			pass("1709301909", want),
			pass("1709301909123", "2024-03-01T14:05:09.123Z"),
			pass("1709301909123456", "2024-03-01T14:05:09.123456Z"),
		}},
		{"numeric layouts", `[rfc3339, "2006-01-02 15:04:05", "2006/01/02 15:04", "01/02/2006", "20060102150405"]`, "", []rowCase{
			pass("2024-03-01 14:05:09", want),
			pass("2024-03-01 14:05:09.25", "2024-03-01T14:05:09.25Z"), // a fraction after the seconds
			pass("2024-03-01  14:05:09", want),                        // a space matches a run of spaces
			pass("2024-03-01 4:05:09", "2024-03-01T04:05:09Z"),        // the hour may have one digit
			pass("2024/03/01 14:05", "2024-03-01T14:05:00Z"),
			pass("03/01/2024", "2024-03-01T00:00:00Z"),
			pass("20240301140509", want),
			noMatch("2024-03-01 14:05", `rfc3339, 2006-01-02 15:04:05, 2006/01/02 15:04, 01/02/2006, 20060102150405`),
			noMatch("2024-3-01 14:05:09", "rfc3339"),
			noMatch("2024-02-30 00:00:00", "rfc3339"),
			noMatch("2024-03-01 14:05:09Z", "rfc3339"),
			noMatch("13/01/2024", "rfc3339"),
		}},
		{"other layouts", `[rfc3339, "02 Jan 2006 15:04:05", "Jan 2, 2006 3:04 PM", "Mon, 02 Jan 2006 15:04:05 -0700", "2006-01-02T15:04:05.000Z07:00", "2006-002"]`, "", []rowCase{
			pass("01 Mar 2024 14:05:09", want),
			pass("Mar 1, 2024 2:05 PM", "2024-03-01T14:05:00Z"),
			pass("Fri, 01 Mar 2024 15:05:09 +0100", want),
			pass("2024-03-01T14:05:09.250+00:00", "2024-03-01T14:05:09.25Z"),
			pass("2024-061", "2024-03-01T00:00:00Z"), // day of the year
			noMatch("01 Foo 2024 14:05:09", "rfc3339, 02 Jan 2006 15:04:05"),
			noMatch("Mar 1, 2024 14:05 PM", "rfc3339"),
		}},
		{"first format that parses wins", `["2006-01-02", "2006-01-02 15:04:05", rfc3339]`, "", []rowCase{
			pass("2024-03-01", "2024-03-01T00:00:00Z"),
			pass("2024-03-01 14:05:09", want),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tsField(tt.formats, tt.more).run(t, tt.cases)
		})
	}
}

// TestTimestampZones checks that time_zone applies to layouts without a
// zone, daylight saving time included, that a zone or offset in the value
// wins, and that output is UTC.
func TestTimestampZones(t *testing.T) {
	const formats = `[rfc3339, "2006-01-02 15:04:05", "02 Jan 2006 15:04", "2006-01-02 15:04:05 -0700", unix]`
	paris := tsField(formats, "time_zone: Europe/Paris")
	paris.run(t, []rowCase{
		{name: "winter", in: []string{"2024-01-15 12:00:00"}, want: []string{"2024-01-15T11:00:00Z"}},
		{name: "summer", in: []string{"2024-07-15 12:00:00"}, want: []string{"2024-07-15T10:00:00Z"}},
		{name: "last second before spring forward", in: []string{"2024-03-31 01:59:59"}, want: []string{"2024-03-31T00:59:59Z"}},
		{name: "first second after spring forward", in: []string{"2024-03-31 03:00:00"}, want: []string{"2024-03-31T01:00:00Z"}},
		{name: "after fall back", in: []string{"2024-10-27 03:30:00"}, want: []string{"2024-10-27T02:30:00Z"}},
		{name: "summer, other layout", in: []string{"15 Jul 2024 12:00"}, want: []string{"2024-07-15T10:00:00Z"}},
		{name: "Z in the value wins", in: []string{"2024-07-15T12:00:00Z"}, want: []string{"2024-07-15T12:00:00Z"}},
		{name: "offset in the value wins", in: []string{"2024-07-15T12:00:00+05:30"}, want: []string{"2024-07-15T06:30:00Z"}},
		{name: "layout offset wins", in: []string{"2024-07-15 12:00:00 -0500"}, want: []string{"2024-07-15T17:00:00Z"}},
		{name: "unix has no zone", in: []string{"1721044800"}, want: []string{"2024-07-15T12:00:00Z"}},
	})
	t.Run("New York", func(t *testing.T) {
		tsField(formats, "time_zone: America/New_York").run(t, []rowCase{
			{name: "summer", in: []string{"2024-07-15 08:00:00"}, want: []string{"2024-07-15T12:00:00Z"}},
			{name: "winter", in: []string{"2024-01-15 07:00:00"}, want: []string{"2024-01-15T12:00:00Z"}},
		})
	})
	t.Run("UTC by default", func(t *testing.T) {
		tsField(formats, "").run(t, []rowCase{
			{in: []string{"2024-07-15 12:00:00"}, want: []string{"2024-07-15T12:00:00Z"}},
		})
	})
}

func TestTimestampBounds(t *testing.T) {
	t.Run("not_before date in time_zone", func(t *testing.T) {
		tsField(`[rfc3339, "2006-01-02 15:04:05"]`, `not_before: "2024-01-01", time_zone: Europe/Paris`).run(t, []rowCase{
			pass("2024-01-01 00:00:00", "2023-12-31T23:00:00Z"),
			pass("2023-12-31T23:00:00Z", "2023-12-31T23:00:00Z"),
			reject("2023-12-31 23:59:59", ErrInvalidTimestamp, "(2023-12-31T22:59:59Z) is before 2023-12-31T23:00:00Z"),
			reject("2023-12-31T22:59:59.999999Z", ErrInvalidTimestamp, "is before 2023-12-31T23:00:00Z"),
		})
	})
	t.Run("not_before time", func(t *testing.T) {
		tsField("[rfc3339, unix]", `not_before: "2024-03-01T12:00:00+02:00"`).run(t, []rowCase{
			pass("2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"),
			reject("2024-03-01T09:59:59Z", ErrInvalidTimestamp, "is before 2024-03-01T10:00:00Z"),
			reject("0", ErrInvalidTimestamp, `(1970-01-01T00:00:00Z) is before 2024-03-01T10:00:00Z`),
		})
	})
	t.Run("max_future", func(t *testing.T) {
		now := time.Now().UTC().Truncate(time.Second)
		soon, later := now.Add(50*time.Minute), now.Add(2*time.Hour)
		tsField("[rfc3339, unix]", "max_future: 1h").run(t, []rowCase{
			pass(soon.Format(time.RFC3339), soon.Format(time.RFC3339)),
			pass("1000000000", "2001-09-09T01:46:40Z"), // the past is fine
			reject(later.Format(time.RFC3339), ErrInvalidTimestamp, "is more than 1h0m0s in the future"),
			reject(strconv.FormatInt(later.Unix(), 10), ErrInvalidTimestamp, "is more than 1h0m0s in the future"),
		})
	})
	t.Run("max_future zero", func(t *testing.T) {
		later := time.Now().UTC().Add(time.Hour)
		tsField("[rfc3339]", "max_future: 0s").run(t, []rowCase{
			reject(later.Format(time.RFC3339), ErrInvalidTimestamp, "is more than 0s in the future"),
		})
	})
}
