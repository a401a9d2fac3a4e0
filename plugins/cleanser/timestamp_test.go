package cleanser

import (
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
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

// TestTimestampZoneAbbreviations covers defect 12 of issue 14: a layout
// with a zone abbreviation (MST) reads it from the documented table, DST
// names included, or from what time_zone calls its zone at that date, and
// refuses any other abbreviation as INVALID_TIMESTAMP naming it, never
// reading it as UTC.
func TestTimestampZoneAbbreviations(t *testing.T) {
	const (
		layout = `"2006-01-02 15:04:05 MST"`
		notKn  = "is not known; use a numeric offset or one of UTC, GMT, UT, Z, WET"
	)
	unknown := func(in, abbrev string) rowCase {
		return rowCase{in: []string{in}, errType: ErrInvalidTimestamp,
			reason: []string{"v: zone abbreviation " + strconv.Quote(abbrev) + " in " + strconv.Quote(in), notKn}}
	}
	ambiguous := func(in, abbrev, meaning string) rowCase {
		return rowCase{in: []string{in}, errType: ErrInvalidTimestamp,
			reason: []string{"v: zone abbreviation " + strconv.Quote(abbrev) + " in " + strconv.Quote(in) + " is ambiguous (" + meaning, "use a numeric offset"}}
	}
	tests := []struct {
		name    string
		formats string
		more    string
		cases   []rowCase
	}{
		{"table", "[rfc3339, " + layout + "]", "", []rowCase{
			pass("2025-01-15 10:00:00 PST", "2025-01-15T18:00:00Z"),
			pass("2025-06-01 10:00:00 PDT", "2025-06-01T17:00:00Z"),
			pass("2025-06-01 10:00:00 PST", "2025-06-01T18:00:00Z"), // PST means -08:00 whatever the date
			pass("2025-01-15 10:00:00 CET", "2025-01-15T09:00:00Z"),
			pass("2025-06-01 10:00:00 CEST", "2025-06-01T08:00:00Z"),
			pass("2025-06-01 10:00:00 EDT", "2025-06-01T14:00:00Z"),
			pass("2025-01-15 10:00:00 EST", "2025-01-15T15:00:00Z"),
			pass("2025-06-01 10:00:00 MDT", "2025-06-01T16:00:00Z"),
			pass("2025-01-15 10:00:00 MST", "2025-01-15T17:00:00Z"),
			pass("2025-01-15 10:00:00 AKST", "2025-01-15T19:00:00Z"),
			pass("2025-01-15 10:00:00 HST", "2025-01-15T20:00:00Z"),
			pass("2025-06-01 10:00:00 WEST", "2025-06-01T09:00:00Z"),
			pass("2025-06-01 10:00:00 EEST", "2025-06-01T07:00:00Z"),
			pass("2025-06-01 10:00:00 JST", "2025-06-01T01:00:00Z"),
			pass("2025-01-15 10:00:00 ACDT", "2025-01-14T23:30:00Z"),
			pass("2025-01-15 10:00:00 NZDT", "2025-01-14T21:00:00Z"),
			pass("2025-01-15 10:00:00 NST", "2025-01-15T13:30:00Z"),
			pass("2025-06-01 10:00:00 UTC", "2025-06-01T10:00:00Z"),
			pass("2025-06-01 10:00:00 GMT", "2025-06-01T10:00:00Z"),
			pass("2025-06-01 10:00:00 UT", "2025-06-01T10:00:00Z"),
			pass("2025-06-01 10:00:00 Z", "2025-06-01T10:00:00Z"),
			pass("2025-06-01 10:00:00 GMT+3", "2025-06-01T07:00:00Z"),
			pass("2025-06-01 10:00:00 GMT-10", "2025-06-01T20:00:00Z"),
			pass("2025-06-01 10:00:00 +07", "2025-06-01T03:00:00Z"), // tzdata's names of unnamed zones
			pass("2025-06-01 10:00:00 -03", "2025-06-01T13:00:00Z"),
			unknown("2025-06-01 10:00:00 XYZ", "XYZ"),
			unknown("2025-06-01 10:00:00 MSK", "MSK"), // +04:00 from 2011 to 2014: only through time_zone
			unknown("2025-06-01 10:00:00 ABCDT", "ABCDT"),
			ambiguous("2025-06-01 10:00:00 CST", "CST", "North American Central -06:00, China +08:00 or Cuba -05:00"),
			ambiguous("2025-06-01 10:00:00 IST", "IST", "India +05:30, Ireland +01:00 or Israel +02:00"),
			ambiguous("2025-06-01 10:00:00 BST", "BST", "British Summer"),
			noMatch("2025-06-01 10:00:00 pst", "rfc3339, 2006-01-02 15:04:05 MST"), // time.Parse takes upper case only
			noMatch("2025-06-01 10:00:00", "rfc3339, 2006-01-02 15:04:05 MST"),
			noMatch("2025-06-01 10:00:00 ZZ", "rfc3339, 2006-01-02 15:04:05 MST"),
			noMatch("2025-06-01 10:00:00 UTx", "rfc3339, 2006-01-02 15:04:05 MST"),
		}},
		{"mid-layout, as date prints it", "[rfc3339, " + time.UnixDate + "]", "", []rowCase{
			pass("Sun Jun  1 10:00:00 PDT 2025", "2025-06-01T17:00:00Z"),
			pass("Sun Jun  1 10:00:00 UT 2025", "2025-06-01T10:00:00Z"),
			pass("Wed Jan 15 10:00:00 CET 2025", "2025-01-15T09:00:00Z"),
			{in: []string{"Sun Jun  1 10:00:00 XYZ 2025"}, errType: ErrInvalidTimestamp, reason: []string{`zone abbreviation "XYZ"`, notKn}},
		}},
		{"a later format still wins", "[rfc3339, " + layout + `, "2006-01-02 15:04:05 XYZ"]`, "", []rowCase{
			pass("2025-06-01 10:00:00 XYZ", "2025-06-01T10:00:00Z"), // the literal XYZ of the last layout
		}},
		{"a numeric offset wins over the abbreviation", `[rfc3339, "2006-01-02 15:04:05 -0700 MST"]`, "", []rowCase{
			pass("2025-06-01 10:00:00 -0700 PDT", "2025-06-01T17:00:00Z"),
			pass("2025-06-01 10:00:00 +0800 CST", "2025-06-01T02:00:00Z"),
			pass("2025-06-01 10:00:00 +0300 XYZ", "2025-06-01T07:00:00Z"),
		}},
		{"time_zone's own abbreviations", "[rfc3339, " + layout + "]", "time_zone: America/Chicago", []rowCase{
			pass("2025-01-15 10:00:00 CST", "2025-01-15T16:00:00Z"),
			pass("2025-06-01 10:00:00 CDT", "2025-06-01T15:00:00Z"),
			pass("2025-06-01 10:00:00 PDT", "2025-06-01T17:00:00Z"), // the table still applies
			pass("2025-11-02 01:30:00 CDT", "2025-11-02T06:30:00Z"), // the hour that repeats, both ways
			pass("2025-11-02 01:30:00 CST", "2025-11-02T07:30:00Z"),
			ambiguous("2025-06-01 10:00:00 CST", "CST", "North American Central"), // not in use in June
			{in: []string{"2025-06-01 10:00:00 XYZ"}, errType: ErrInvalidTimestamp,
				reason: []string{`v: zone abbreviation "XYZ" in "2025-06-01 10:00:00 XYZ" is not known; use a numeric offset, an abbreviation time_zone America/Chicago uses at that date, or one of UTC`}},
		}},
		{"time_zone before the table", "[rfc3339, " + layout + "]", "time_zone: Asia/Manila", []rowCase{
			pass("2025-06-01 10:00:00 PST", "2025-06-01T02:00:00Z"), // Philippine Standard Time
			pass("2025-06-01 10:00:00 CET", "2025-06-01T09:00:00Z"),
		}},
		{"time_zone India", "[rfc3339, " + layout + "]", "time_zone: Asia/Kolkata", []rowCase{
			pass("2025-06-01 10:00:00 IST", "2025-06-01T04:30:00Z"),
		}},
		{"time_zone still applies to layouts without a zone", `[rfc3339, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05"]`, "time_zone: Europe/Paris", []rowCase{
			pass("2025-06-01 10:00:00", "2025-06-01T08:00:00Z"),
			pass("2025-01-15 10:00:00", "2025-01-15T09:00:00Z"),
			pass("2025-06-01 10:00:00 UTC", "2025-06-01T10:00:00Z"),
			pass("2025-06-01 10:00:00 CEST", "2025-06-01T08:00:00Z"),
			pass("2025-01-15 10:00:00 CEST", "2025-01-15T08:00:00Z"), // not Paris's in January: the table's +02:00
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tsField(tt.formats, tt.more).run(t, tt.cases)
		})
	}
}

// TestZoneTable checks the abbreviation table against the tz database:
// each name has the one offset that the zones using it have had since
// 2000, and the ambiguous names really are written with more than one.
func TestZoneTable(t *testing.T) {
	users := map[string][]string{ // a zone that uses each name
		"WET": {"Europe/Lisbon"}, "WEST": {"Europe/Lisbon"}, "CET": {"Europe/Paris"}, "CEST": {"Europe/Paris"},
		"EET": {"Europe/Athens"}, "EEST": {"Europe/Athens"}, "WAT": {"Africa/Lagos"}, "CAT": {"Africa/Maputo"},
		"SAST": {"Africa/Johannesburg"}, "EAT": {"Africa/Nairobi"}, "PKT": {"Asia/Karachi"}, "WIB": {"Asia/Jakarta"},
		"WITA": {"Asia/Makassar"}, "HKT": {"Asia/Hong_Kong"}, "AWST": {"Australia/Perth"}, "WIT": {"Asia/Jayapura"},
		"JST": {"Asia/Tokyo"}, "ACST": {"Australia/Adelaide", "Australia/Darwin"}, "ACDT": {"Australia/Adelaide"},
		"AEST": {"Australia/Sydney", "Australia/Brisbane"}, "AEDT": {"Australia/Sydney"}, "ChST": {"Pacific/Guam"},
		"NZST": {"Pacific/Auckland"}, "NZDT": {"Pacific/Auckland"}, "NST": {"America/St_Johns"}, "NDT": {"America/St_Johns"},
		"EST": {"America/New_York"}, "EDT": {"America/New_York"}, "MST": {"America/Denver", "America/Phoenix"},
		"MDT": {"America/Denver"}, "PST": {"America/Los_Angeles"}, "PDT": {"America/Los_Angeles"},
		"AKST": {"America/Anchorage"}, "AKDT": {"America/Anchorage"}, "HST": {"Pacific/Honolulu"}, "HDT": {"America/Adak"},
		"GMT": {"Europe/London", "Africa/Abidjan"}, "UTC": {"Etc/UTC"},
	}
	for _, z := range zoneAbbrevs {
		if z.name == "UT" || z.name == "Z" {
			continue
		}
		zones, found := users[z.name]
		if !found {
			t.Errorf("%s: no zone to check it against", z.name)
		}
		for _, name := range zones {
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Fatal(err)
			}
			seen := false
			for at := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2030; at = at.Add(12 * time.Hour) {
				if n, off := at.In(loc).Zone(); n == z.name {
					seen = true
					if off != z.offset {
						t.Fatalf("%s is %d s in %s at %s; the table says %d", z.name, off, name, at, z.offset)
					}
				}
			}
			if !seen {
				t.Errorf("%s never calls its zone %s", name, z.name)
			}
		}
	}
	for name, meaning := range ambiguousAbbrevs {
		if _, inTable := zoneOffsets[name]; inTable {
			t.Errorf("%s (%s) is in the table", name, meaning)
		}
	}
}

// TestZoneTableDocumented checks that doc.go lists the table as it is.
func TestZoneTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	documented := map[string]string{}
	entry := regexp.MustCompile(`([A-Za-z]+) ([+-][0-9]{2}:[0-9]{2})`)
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "//\t") {
			if rest, zero := strings.CutPrefix(line, "//\tUTC, GMT, UT, Z  "); zero {
				for _, name := range []string{"UTC", "GMT", "UT", "Z"} {
					documented[name] = rest
				}
				continue
			}
			for _, m := range entry.FindAllStringSubmatch(line, -1) {
				documented[m[1]] = m[2]
			}
		}
	}
	want := map[string]string{}
	for _, z := range zoneAbbrevs {
		want[z.name] = time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", z.offset)).Format("-07:00")
	}
	if !maps.Equal(documented, want) {
		t.Errorf("doc.go lists\n%v\nthe table is\n%v", documented, want)
	}
	for name := range ambiguousAbbrevs {
		if !strings.Contains(text, name+",") && !strings.Contains(text, name+")") {
			t.Errorf("doc.go does not list the ambiguous %s", name)
		}
	}
}
