package record

import (
	"bytes"
	"math"
	"testing"
	"time"
)

func TestTypeCodesStayStable(t *testing.T) {
	// The wire carries these numbers: changing one breaks every plugin
	// built before the change.
	want := map[Type]string{0: "string", 1: "int64", 2: "float64", 3: "bool", 4: "timestamp", 5: "decimal",
		6: "int16", 7: "int32", 8: "date", 9: "uuid", 10: "json", 11: "bytes"}
	for code, name := range want {
		if code.String() != name {
			t.Errorf("type %d is %q, want %q", int(code), code.String(), name)
		}
		if got, err := ParseType(name); err != nil || got != code {
			t.Errorf("ParseType(%q) = %d, %v; want %d", name, got, err, code)
		}
	}
	if len(TypeNames()) != len(want) {
		t.Errorf("TypeNames() has %d names, want %d", len(TypeNames()), len(want))
	}
}

func TestNewTypesSurviveEncoding(t *testing.T) {
	u := [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
	b := NewBatch(Schema{Fields: []Field{{Name: "s", Type: Int16}, {Name: "i", Type: Int32}, {Name: "d", Type: Date},
		{Name: "u", Type: UUID, Nullable: true}, {Name: "j", Type: JSON, Nullable: true}, {Name: "b", Type: Bytes}}})
	b.StartRow(Origin{Source: "x", Line: 1}, []byte("raw"))
	b.AppendInt16(math.MinInt16)
	b.AppendInt32(math.MaxInt32)
	b.AppendDate(-1)
	b.AppendUUID(u)
	b.AppendBytes([]byte(`{"a":1}`))
	b.AppendBytes([]byte{0, 0xff})
	b.StartRow(Origin{Source: "x", Line: 2}, nil)
	b.AppendInt16(-1)
	b.AppendInt32(math.MinInt32)
	b.AppendDate(DaysOf(time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)))
	b.AppendNull()
	b.AppendNull()
	b.AppendBytes(nil)
	data, err := b.MarshalArrow()
	if err != nil {
		t.Fatal(err)
	}
	d, err := UnmarshalArrow(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"int16", d.Int16(0, 0), int16(math.MinInt16)},
		{"int32", d.Int32(0, 1), int32(math.MaxInt32)},
		{"date before 1970", d.Date(0, 2), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"uuid", d.UUID(0, 3), u},
		{"json", d.Text(0, 4), `{"a":1}`},
		{"bytes", bytes.Equal(d.Bytes(0, 5), []byte{0, 0xff}), true},
		{"negative int16", d.Int16(1, 0), int16(-1)},
		{"min int32", d.Int32(1, 1), int32(math.MinInt32)},
		{"leap day", d.Date(1, 2), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"null uuid", d.IsNull(1, 3), true},
		{"null json", d.IsNull(1, 4), true},
		{"empty bytes not null", d.IsNull(1, 5), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDaysOfCountsFrom1970(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want int32
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1970, 1, 2, 23, 59, 0, 0, time.UTC), 1},
		{time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), -1},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 10957},
		// the day in t's own zone, not UTC's
		{time.Date(2000, 1, 1, 0, 30, 0, 0, time.FixedZone("+01", 3600)), 10957},
	} {
		if got := DaysOf(c.t); got != c.want {
			t.Errorf("DaysOf(%v) = %d, want %d", c.t, got, c.want)
		}
		if got := string(AppendDateText(nil, c.want)); got != DateTime(c.want).Format("2006-01-02") {
			t.Errorf("AppendDateText(%d) = %s", c.want, got)
		}
	}
}

func TestParseUUIDAcceptsCanonicalFormsOnly(t *testing.T) {
	const canon = "123e4567-e89b-12d3-a456-426614174000"
	for _, c := range []struct {
		in   string
		good bool
	}{
		{canon, true},
		{"123E4567-E89B-12D3-A456-426614174000", true},
		{"123e4567e89b12d3a456426614174000", true},
		{"{123e4567-e89b-12d3-a456-426614174000}", false},
		{"urn:uuid:123e4567-e89b-12d3-a456-426614174000", false},
		{"123e4567-e89b-12d3-a456-42661417400", false},
		{"123e4567-e89b-12d3-a456_426614174000", false},
		{"123e4567-e89b-12d3-a456-42661417400g", false},
		{"123e4567e89b12d3a45642661417400", false},
		{"", false},
	} {
		u, err := ParseUUID([]byte(c.in))
		if (err == nil) != c.good {
			t.Errorf("ParseUUID(%q): error %v, want good %v", c.in, err, c.good)
			continue
		}
		if c.good {
			if got := string(AppendUUIDText(nil, u[:])); got != canon {
				t.Errorf("ParseUUID(%q) formats back as %s, want %s", c.in, got, canon)
			}
		}
	}
}
