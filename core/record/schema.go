// Package record defines what crosses plugin boundaries: schemas, batches of
// rows, rejected rows and source positions.
package record

import (
	"fmt"
	"slices"
	"strings"
)

// Type is the type of a field's values inside a Batch.
type Type int

// The field types. Each has a fixed binary encoding inside a Batch; see the
// Append and accessor methods of Batch. The values are part of the wire
// format (a schema carries them as numbers): new types are added at the end
// and no value ever changes. Each maps simply onto an Apache Arrow type,
// named after the encoding.
const (
	String    Type = iota // UTF-8 text (Arrow utf8)
	Int64                 // 8 bytes, big-endian two's complement (int64)
	Float64               // 8 bytes, big-endian IEEE 754 bits (float64)
	Bool                  // 1 byte, 0 or 1 (bool)
	Timestamp             // 8 bytes, big-endian microseconds since 1970-01-01 UTC (timestamp[us, UTC])
	Decimal               // 8 bytes, big-endian unscaled int64; the scale is the Field's (decimal128)
	Int16                 // 2 bytes, big-endian two's complement (int16)
	Int32                 // 4 bytes, big-endian two's complement (int32)
	Date                  // 4 bytes, big-endian signed days since 1970-01-01 (date32)
	UUID                  // 16 bytes, the UUID's bytes in RFC 9562 order (fixed_size_binary[16])
	JSON                  // the UTF-8 text of one valid JSON value, as written (utf8)
	Bytes                 // any bytes, possibly empty (binary)
)

var typeNames = [...]string{"string", "int64", "float64", "bool", "timestamp", "decimal",
	"int16", "int32", "date", "uuid", "json", "bytes"}

// TypeNames lists the names of every type, in the order of their values.
func TypeNames() []string { return slices.Clone(typeNames[:]) }

// String returns the name used in YAML and in messages, e.g. "int64".
func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return fmt.Sprintf("type(%d)", int(t))
	}
	return typeNames[t]
}

// ParseType returns the Type named s, as written in YAML.
func ParseType(s string) (Type, error) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("unknown type %q (want one of %s)", s, strings.Join(typeNames[:], ", "))
}

// Field is one column of a Schema.
type Field struct {
	Name string
	Type Type
	// Scale is the number of digits after the decimal point of a Decimal.
	Scale int
	// Nullable says whether the field may hold nulls.
	Nullable bool
}

// Schema describes the columns of every row of a stream of batches.
type Schema struct {
	Fields []Field
}

// Index returns the position of the field called name, or -1.
func (s Schema) Index(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Names returns the field names in order.
func (s Schema) Names() []string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return names
}

// Position is how far a source has read in one partition. For a folder of
// files a partition is a file and Offset the byte offset after the last line
// read; for a message broker it would be a stream and a sequence number.
// Sinks store positions in the same transaction as the rows they cover.
type Position struct {
	// Partition identifies the partition; its form belongs to the source.
	Partition string
	// Offset is the position reached inside the partition.
	Offset int64
	// Done says the partition has been read to its end and will not grow.
	Done bool
}

// Origin says where a row came from, for rejects and error messages.
type Origin struct {
	// Source names the input, e.g. a file path.
	Source string
	// Line is the 1-based line number in Source, or 0 when not known.
	Line int64
}

// String formats the origin as "source:line".
func (o Origin) String() string {
	if o.Line == 0 {
		return o.Source
	}
	return fmt.Sprintf("%s:%d", o.Source, o.Line)
}

// Reject is a row a plugin refused. It keeps the raw input so that nothing
// is lost, and says why.
type Reject struct {
	Origin Origin
	// Raw is the row's input text as read, e.g. the CSV line.
	Raw string
	// ErrorType is a short upper-case class, e.g. CSV_PARSE_ERROR.
	ErrorType string
	// Reason is a human-readable explanation naming the field and value.
	Reason string
}
