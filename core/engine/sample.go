package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// SampleFile is a file that Sample drops into the source's folder.
type SampleFile struct {
	// Name is the file's name in the folder; it must match the source's
	// pattern (for csvdir, "*.csv" by default).
	Name string
	Data []byte
}

// SampleResult is what came out of the source and the transforms.
type SampleResult struct {
	// Schema is the schema of Rows: the one after the last transform.
	Schema record.Schema
	// Rows are the rows that passed every transform, in the order read.
	Rows []SampleRow
	// Rejects are the rows the source and the transforms refused, in the
	// order they were refused within each batch.
	Rejects []SampleReject
}

// SampleRow is one output row.
type SampleRow struct {
	// Origin is where the row came from; its Source is the SampleFile's
	// Name, not the temporary folder's path.
	Origin record.Origin
	// Values are the row's cells in Schema order, in canonical text form
	// (see FormatCell).
	Values []Value
}

// Value is a cell as text, or null.
type Value struct {
	Text string
	Null bool
}

// String returns the text, or "null".
func (v Value) String() string {
	if v.Null {
		return "null"
	}
	return v.Text
}

// SampleReject is a refused row and the step that refused it.
type SampleReject struct {
	// Step is the name of the step: the source's or a transform's.
	Step string
	// Reject is as the step returned it, its Origin.Source being the
	// SampleFile's Name.
	record.Reject
}

// sampleReadWait is how long one Read of the sample folder waits for
// more input: the files are all there when reading starts.
const sampleReadWait = time.Millisecond

// Sample runs the source and the transforms of s, never the sink, on
// files: it starts a plugin process for each step as Open does, points the
// source at a fresh temporary folder holding files instead of its
// configured folder, reads it to its end (as `etl run --once` would),
// passes every batch through the transforms in order and returns the rows
// and rejects. The sink is neither started nor configured, so no database
// is needed.
//
// The source must be one that reads a folder named by the key `path` of
// its config, as csvdir does. Besides `path`, Sample keeps the folder
// self-contained: `after_read` becomes keep, `archive_path` goes and
// `quarantine_path`, when set, points into the temporary folder. Nothing
// outside the temporary folder is read, created or moved, and the folder
// is removed before Sample returns.
//
// Configuration mistakes of the steps are returned as spec.Errors located
// in the pipeline file, as Open returns them.
func Sample(ctx context.Context, s *spec.Spec, h *host.Host, logger *slog.Logger, files []SampleFile) (*SampleResult, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tmp, err := os.MkdirTemp("", "etl-test-")
	if err != nil {
		return nil, fmt.Errorf("make the sample folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "in")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make the sample folder: %w", err)
	}
	byPath := map[string]string{}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if filepath.Dir(p) != dir {
			return nil, fmt.Errorf("sample file name %q: must be a plain file name", f.Name)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return nil, fmt.Errorf("write sample file: %w", err)
		}
		byPath[p] = f.Name
	}
	src := s.Source
	src.Config, err = FolderConfig(s.Source.Config, dir, filepath.Join(tmp, "quarantine"))
	if err != nil {
		e := s.Locate(&s.Source, "")
		e.Msg = err.Error()
		return nil, spec.Errors{e}
	}

	withFolder := *s
	withFolder.Source = src
	in, errs := configureSteps(ctx, &withFolder, h, logger, false)
	defer in.Kill()
	if len(errs) > 0 {
		return nil, errs
	}
	schema, srcStep, transforms := in.schema, in.Pipeline.Source, in.Pipeline.Transforms
	source := srcStep.Plugin

	res := &SampleResult{Schema: schema}
	name := func(o record.Origin) record.Origin {
		if n, ok := byPath[o.Source]; ok {
			o.Source = n
		}
		return o
	}
	reject := func(step string, rs []record.Reject) {
		for _, r := range rs {
			if n, ok := byPath[r.Origin.Source]; ok {
				// Reasons name the file too, as the source saw it.
				r.Reason = strings.ReplaceAll(r.Reason, r.Origin.Source, n)
			}
			r.Origin = name(r.Origin)
			res.Rejects = append(res.Rejects, SampleReject{Step: step, Reject: r})
		}
	}
	if err := source.Open(ctx, nil); err != nil {
		return nil, srcStep.err("open", err)
	}
	opts := withDefaults(OptionsOf(s))
	req := plugin.ReadRequest{MaxRows: opts.BatchMaxRows, MaxBytes: opts.BatchMaxBytes, MaxWaitMillis: sampleReadWait.Milliseconds()}
	for {
		r, err := source.Read(ctx, req)
		if err != nil {
			return nil, srcStep.err("read", err)
		}
		reject(s.Source.Name, r.Rejects)
		b := r.Batch
		for _, t := range transforms {
			if b == nil || b.Len() == 0 {
				break
			}
			out, rejects, err := t.Plugin.Process(ctx, b)
			if err != nil {
				return nil, t.err("process a batch", err)
			}
			reject(t.Name, rejects)
			b = out
		}
		if b != nil {
			for row := 0; row < b.Len(); row++ {
				values := make([]Value, len(schema.Fields))
				for col, f := range schema.Fields {
					values[col] = FormatCell(b, row, col, f)
				}
				res.Rows = append(res.Rows, SampleRow{Origin: name(b.Origin(row)), Values: values})
			}
		}
		if r.CaughtUp {
			break
		}
	}
	var closeErrs []error
	closeErrs = append(closeErrs, srcStep.err("close", source.Close(ctx)))
	for _, t := range transforms {
		closeErrs = append(closeErrs, t.err("close", t.Plugin.Close(ctx)))
	}
	if err := errors.Join(closeErrs...); err != nil {
		return nil, err
	}
	return res, nil
}

// FolderConfig returns a folder source's config raw (YAML) made to read
// dir: `path` is dir, `after_read` keep, `archive_path` removed, and
// `quarantine_path`, when set, quarantine. Other keys are kept. It fails
// when raw has no `path`: the source does not read a folder.
func FolderConfig(raw []byte, dir, quarantine string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("read the source's config: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the source has no config with a `path`: etl test feeds only sources that read a folder (like csvdir)")
	}
	m := doc.Content[0]
	set := func(key, value string) bool {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
				return true
			}
		}
		return false
	}
	if !set("path", dir) {
		return nil, errors.New("the source's config has no `path`: etl test feeds only sources that read a folder (like csvdir)")
	}
	set("after_read", "keep")
	set("quarantine_path", quarantine)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "archive_path" {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("write the source's config: %w", err)
	}
	return out, nil
}

// FormatCell returns cell (row, col) of b, of field f, in canonical text:
// an int64 in decimal digits ("42"), a decimal with exactly its scale
// ("3.50"), a timestamp in RFC 3339 in UTC with a fraction only when it
// has one ("2024-03-01T14:05:09Z", "2024-03-01T14:05:09.123Z"), a float64
// in the shortest form that reads back the same, a bool as true or false,
// a string as it is.
func FormatCell(b *record.Batch, row, col int, f record.Field) Value {
	if b.IsNull(row, col) {
		return Value{Null: true}
	}
	var s string
	switch f.Type {
	case record.Int64:
		s = strconv.FormatInt(b.Int64(row, col), 10)
	case record.Decimal:
		s = record.FormatDecimal(b.Decimal(row, col), f.Scale)
	case record.Timestamp:
		s = b.Timestamp(row, col).Format(time.RFC3339Nano)
	case record.Float64:
		s = strconv.FormatFloat(b.Float64(row, col), 'g', -1, 64)
	case record.Bool:
		s = strconv.FormatBool(b.Bool(row, col))
	default:
		s = b.Text(row, col)
	}
	return Value{Text: s}
}
