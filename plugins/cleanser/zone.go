package cleanser

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// A Go layout's MST element reads a zone abbreviation, and time.Parse gives
// an abbreviation that its location does not know a made-up offset of
// zero: "PST" and "CET" read as UTC. The cleanser reads such layouts in
// UTC, for the wall clock and the abbreviation, and then finds the offset
// itself (resolveZone), or refuses the value.

// zoneAbbrev is one abbreviation of the table.
type zoneAbbrev struct {
	name   string
	offset int // seconds east of UTC
}

// zoneAbbrevs are the zone abbreviations read without a time_zone that
// uses them, each with its one offset (DST names included: PDT is -07:00).
// An abbreviation that more than one zone in use writes with different
// offsets is left out (see ambiguousAbbrevs). doc.go lists the same table.
var zoneAbbrevs = []zoneAbbrev{
	{"UTC", 0}, {"GMT", 0}, {"UT", 0}, {"Z", 0},
	// Europe
	{"WET", 0}, {"WEST", 1 * 3600}, {"CET", 1 * 3600}, {"CEST", 2 * 3600}, {"EET", 2 * 3600}, {"EEST", 3 * 3600},
	// Africa
	{"WAT", 1 * 3600}, {"CAT", 2 * 3600}, {"SAST", 2 * 3600}, {"EAT", 3 * 3600},
	// Asia and the Pacific
	{"PKT", 5 * 3600}, {"WIB", 7 * 3600}, {"WITA", 8 * 3600}, {"HKT", 8 * 3600}, {"AWST", 8 * 3600},
	{"WIT", 9 * 3600}, {"JST", 9 * 3600}, {"ACST", 9*3600 + 1800}, {"ACDT", 10*3600 + 1800},
	{"AEST", 10 * 3600}, {"AEDT", 11 * 3600}, {"ChST", 10 * 3600}, {"NZST", 12 * 3600}, {"NZDT", 13 * 3600},
	// North America
	{"NST", -(3*3600 + 1800)}, {"NDT", -(2*3600 + 1800)}, {"EST", -5 * 3600}, {"EDT", -4 * 3600},
	{"MST", -7 * 3600}, {"MDT", -6 * 3600}, {"PST", -8 * 3600}, {"PDT", -7 * 3600},
	{"AKST", -9 * 3600}, {"AKDT", -8 * 3600}, {"HST", -10 * 3600}, {"HDT", -9 * 3600},
}

// ambiguousAbbrevs are abbreviations in use with different offsets,
// refused unless time_zone uses them, with what they may mean.
var ambiguousAbbrevs = map[string]string{
	"CST": "North American Central -06:00, China +08:00 or Cuba -05:00",
	"CDT": "North American Central -05:00 or Cuba -04:00",
	"IST": "India +05:30, Ireland +01:00 or Israel +02:00",
	"BST": "British Summer +01:00 or Bangladesh +06:00",
	"AST": "Atlantic -04:00 or Arabia +03:00",
	"ADT": "Atlantic -03:00 or Arabia +04:00",
	"GST": "Gulf +04:00 or South Georgia -02:00",
	"SST": "Samoa -11:00 or Singapore +08:00",
}

var (
	zoneOffsets = map[string]int{}
	// zoneNames lists the table for reasons: "UTC, GMT, ...".
	zoneNames string
)

func init() {
	names := make([]string, len(zoneAbbrevs))
	for i, z := range zoneAbbrevs {
		zoneOffsets[z.name] = z.offset
		names[i] = z.name
	}
	zoneNames = strings.Join(names, ", ")
}

// zoneStatus says how a layout with a zone abbreviation read a value.
type zoneStatus uint8

const (
	zoneNoMatch zoneStatus = iota // the layout does not match
	zoneOK                        // matched, zone known
	zoneUnknown                   // matched, but the abbreviation is neither known nor used by time_zone
)

// hasAbbrevOnly reports whether layout has a zone abbreviation element
// (MST) and no numeric zone element (-0700, Z07:00, ...), which would give
// the offset instead.
func hasAbbrevOnly(layout string) bool {
	a := time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("QQQ", 0)).Format(layout)
	b := time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("QQQ", 5*3600+1800)).Format(layout)
	return strings.Contains(a, "QQQ") && a == b
}

// parseAbbrev reads v with a layout whose zone is an abbreviation: the
// wall clock and the abbreviation by time.Parse in UTC, then the offset
// by resolveZone. It returns the abbreviation when the layout matched.
func (f *tsFormat) parseAbbrev(v []byte, loc *time.Location) (int64, string, zoneStatus) {
	s := string(v)
	t, err := time.ParseInLocation(f.layout, s, time.UTC)
	if err != nil {
		// time.Parse takes no abbreviation shorter than three letters:
		// read Z and UT as UTC, which means the same.
		var pe *time.ParseError
		if !errors.As(err, &pe) || pe.LayoutElem != "MST" {
			return 0, "", zoneNoMatch
		}
		at := len(s) - len(pe.ValueElem)
		n := 0
		switch {
		case strings.HasPrefix(pe.ValueElem, "UT"):
			n = 2
		case strings.HasPrefix(pe.ValueElem, "Z"):
			n = 1
		}
		if n == 0 || at < 0 || s[at:] != pe.ValueElem || len(s) > at+n && isUpper(s[at+n]) {
			return 0, "", zoneNoMatch
		}
		if t, err = time.ParseInLocation(f.layout, s[:at]+"UTC"+s[at+n:], time.UTC); err != nil {
			return 0, "", zoneNoMatch
		}
	}
	// Read in UTC, t is the wall clock as if UTC whatever the zone: Go
	// records the offset of GMT+3 in t's zone without applying it.
	name, goOffset := t.Zone()
	offset, ok := resolveZone(name, goOffset, t.Unix(), loc)
	if !ok {
		return 0, name, zoneUnknown
	}
	return t.UnixMicro() - int64(offset)*1e6, name, zoneOK
}

// resolveZone returns the offset of the zone abbreviation name for the
// wall clock wall (seconds, as if UTC): the offset of loc when loc uses
// that name at that time, else the table's; GMT+h and +hh as time.Parse
// reads them (goOffset). An abbreviation found nowhere is refused.
func resolveZone(name string, goOffset int, wall int64, loc *time.Location) (int, bool) {
	if loc != time.UTC {
		if off, ok := zoneInLocation(loc, name, wall); ok {
			return off, true
		}
	}
	if off, ok := zoneOffsets[name]; ok {
		return off, true
	}
	if len(name) > 3 && name[:3] == "GMT" {
		return goOffset, true // GMT+3 is UTC+03:00, GMT-10 UTC-10:00
	}
	if name != "" && (name[0] == '+' || name[0] == '-') {
		// A zone named by its offset in hours, as tzdata names many
		// ("+07"); time.Parse checked the digits and range.
		h, _ := num([]byte(name[1:]))
		if name[0] == '-' {
			h = -h
		}
		return h * 3600, true
	}
	return 0, false
}

// zoneInLocation returns the offset loc has at the time that wall (as if
// UTC) means with that offset, when loc then calls its zone name. Both
// offsets around a change of loc's offset within a day are tried, so that
// the hour that repeats when clocks go back reads right either way.
func zoneInLocation(loc *time.Location, name string, wall int64) (int, bool) {
	var tried [3]int
	n := 0
	for _, probe := range [3]int64{wall, wall - 86400, wall + 86400} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		seen := false
		for _, o := range tried[:n] {
			seen = seen || o == off
		}
		if seen {
			continue
		}
		tried[n] = off
		n++
		if nm, o := time.Unix(wall-int64(off), 0).In(loc).Zone(); nm == name && o == off {
			return off, true
		}
	}
	return 0, false
}

// unknownZone returns the abbreviation of v when f's layout matches v but
// knows no offset for its zone abbreviation in loc.
func (f *tsFormat) unknownZone(v []byte, loc *time.Location) (string, bool) {
	if !f.abbrev {
		return "", false
	}
	if _, _, ok := f.num.scan(v); !ok {
		return "", false
	}
	_, name, st := f.parseAbbrev(v, loc)
	return name, st == zoneUnknown
}

// zoneReason explains why the zone abbreviation name in value is refused.
func zoneReason(field, name, value string, loc *time.Location) string {
	if meaning, ok := ambiguousAbbrevs[name]; ok {
		hint := "set time_zone to the zone that uses it"
		if loc != time.UTC {
			hint = fmt.Sprintf("time_zone %s does not use it at that date", loc)
		}
		return fmt.Sprintf("%s: zone abbreviation %s in %s is ambiguous (%s); use a numeric offset (%s)",
			field, quote(name), quote(value), meaning, hint)
	}
	uses := ""
	if loc != time.UTC {
		uses = fmt.Sprintf(", an abbreviation time_zone %s uses at that date,", loc)
	}
	return fmt.Sprintf("%s: zone abbreviation %s in %s is not known; use a numeric offset%s or one of %s",
		field, quote(name), quote(value), uses, zoneNames)
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
