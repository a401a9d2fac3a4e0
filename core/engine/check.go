package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// ErrNotConfigured is Check's error when the sink was not configured, or
// its config's mistakes leave it nothing to check.
var ErrNotConfigured = errors.New("not configured")

// Check asks the sink of an opened instance to check its destination
// read-only (plugin.Checker), for etl validate. It returns the sink's
// notes and its mistakes located in the pipeline file: at the key of the
// sink's config they name, or, for a mistake about an input field that the
// sink's config does not map (no columns.FIELD), at the step that made the
// field: the last one whose config defines it or whose output introduced
// or retyped it. err wraps errors.ErrUnsupported when the sink cannot
// check; any other err means the check itself failed. A mistake about a
// field whose own configuration has a mistake (see Configure) is left out:
// it follows from that one.
func (in *Instance) Check(ctx context.Context) (notes []string, errs spec.Errors, err error) {
	sink := in.Pipeline.Sink
	if sink.Plugin == nil || !(in.SinkConfigured || in.sinkGotConfig) {
		return nil, nil, fmt.Errorf("sink %s was not configured: %w", sink.Name, ErrNotConfigured)
	}
	ch, ok := sink.Plugin.(plugin.Checker)
	if !ok {
		return nil, nil, fmt.Errorf("sink %s cannot check its destination: %w", sink.Name, errors.ErrUnsupported)
	}
	res, err := ch.Check(ctx)
	var ces plugin.ConfigErrors
	var ce plugin.ConfigError
	if err != nil && !errors.As(err, &ces) && !errors.As(err, &ce) {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, nil, fmt.Errorf("sink %s cannot check its destination: %w", sink.Name, err)
		}
		if !in.SinkConfigured {
			// Its config has mistakes that leave it nothing to check.
			return nil, nil, fmt.Errorf("sink %s: %v: %w", sink.Name, err, ErrNotConfigured)
		}
		return nil, nil, sink.err("check its destination", err)
	}
	for _, ce := range plugin.AsConfigErrors(err) {
		if ce.Field != "" && in.uncertain[ce.Field] {
			continue // follows from the mistake in the field's own config
		}
		errs = append(errs, in.locate(ce))
	}
	return res.Notes, errs, nil
}

// locate places a mistake of the sink's check in the pipeline file.
func (in *Instance) locate(ce plugin.ConfigError) spec.Error {
	s := in.Spec
	if ce.Field != "" && !s.Has(&s.Sink, "columns."+ce.Field) {
		if st := in.fieldMaker(ce.Field); st != nil {
			path, _ := s.FieldDef(st, ce.Field)
			e := s.Locate(st, path)
			e.Msg = ce.Message
			return e
		}
	}
	e := s.Locate(&s.Sink, ce.Path)
	e.Msg = ce.Message
	return e
}

// fieldMaker returns the step that made the field named field as the sink
// receives it: the last step whose config defines the field or whose
// output schema introduced or retyped it (in.Schemas[0] is the source's,
// in.Schemas[i+1] that of transform i); nil when none is known.
func (in *Instance) fieldMaker(field string) *spec.Step {
	steps := in.Spec.Steps() // source, transforms..., sink
	for k := len(in.Schemas) - 1; k >= 0 && k < len(steps)-1; k-- {
		st := steps[k]
		if _, ok := in.Spec.FieldDef(st, field); ok {
			return st
		}
		f, ok := fieldOf(in.Schemas[k], field)
		if !ok {
			continue
		}
		if k == 0 {
			return st
		}
		prev, had := fieldOf(in.Schemas[k-1], field)
		if !had || prev.Type != f.Type || prev.Scale != f.Scale {
			return st
		}
	}
	return nil
}

// fieldOf returns the field named name of sc.
func fieldOf(sc record.Schema, name string) (record.Field, bool) {
	if i := sc.Index(name); i >= 0 {
		return sc.Fields[i], true
	}
	return record.Field{}, false
}
