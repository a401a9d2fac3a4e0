package cleanser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Plugin is the cleanser as the etl binary bundles it.
var Plugin = plugin.Plugin{Name: "cleanser", Version: "0.1.0", Settings: plugin.MustSettingsOf(Config{}), Transform: func() plugin.Transform { return New() },
	TransformNeedsNoRaw: true}

// Cleanser is the cleanser transform. Its methods may be called from
// several goroutines; batches are processed one at a time.
type Cleanser struct {
	mu   sync.Mutex
	plan *plan
}

// New returns an unconfigured cleanser.
func New() *Cleanser { return &Cleanser{} }

// Configure checks cfg against the input schema and returns the output
// schema: the configured fields in order, then the derived ones. A field
// is nullable unless required; derived fields are always nullable.
func (c *Cleanser) Configure(ctx context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	var conf Config
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(cfg.Raw, &conf))
	for _, e := range errs {
		if e.Path == "" {
			return record.Schema{}, errs // not YAML: nothing else to check
		}
	}
	// What did decode is checked too, so that every mistake is reported
	// at once; a key that did not decode is not reported again.
	p, schema, err := compile(conf, in)
	errs.Merge(plugin.AsConfigErrors(err))
	if err := errs.Err(); err != nil {
		nameFields(errs, conf)
		return schema, err
	}
	c.mu.Lock()
	c.plan = p
	c.mu.Unlock()
	return p.schema, nil
}

// nameFields sets the Field of each mistake in a field's or a derived
// field's configuration, so that etl validate does not also report what
// follows from it downstream (a column the sink could not write it into).
func nameFields(es plugin.ConfigErrors, conf Config) {
	for i := range es {
		var idx int
		var list string
		if _, err := fmt.Sscanf(es[i].Path, "fields[%d]", &idx); err == nil {
			list = "fields"
		} else if _, err := fmt.Sscanf(es[i].Path, "derive[%d]", &idx); err == nil {
			list = "derive"
		}
		switch {
		case list == "fields" && idx < len(conf.Fields):
			es[i].Field = conf.Fields[idx].Name
		case list == "derive" && idx < len(conf.Derive):
			es[i].Field = conf.Derive[idx].Name
		}
	}
}

// Process types and checks every row of b. Rows that pass keep their
// origin and raw text (not the raw text when the engine holds it:
// plugin.RawHeld); the others become rejects, with their raw text, the
// rest of the batch untouched.
func (c *Cleanser) Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.plan
	if p == nil {
		return nil, nil, errors.New("cleanser: Process before Configure")
	}
	if b.Cols() != p.inCols {
		return nil, nil, fmt.Errorf("cleanser: batch has %d columns, the input schema %d", b.Cols(), p.inCols)
	}
	out := record.NewBatch(p.schema)
	if plugin.RawHeld(ctx) {
		out.LeaveOutRaw()
	}
	p.sizes.Grow(out, b.Len(), b.Size())
	var rejects []record.Reject
	now := time.Now().UnixMicro()
	for row := 0; row < b.Len(); row++ {
		if errType, reason := p.row(b, row, now); errType != "" {
			rejects = append(rejects, b.Reject(row, errType, reason))
			continue
		}
		out.StartRow(b.Origin(row), b.Raw(row))
		p.emit(out)
	}
	p.sizes.Learn(out)
	return out, rejects, nil
}

// Close releases nothing: the cleanser holds no resources.
func (c *Cleanser) Close(ctx context.Context) error { return nil }

// plan is a compiled Config: what Process runs.
type plan struct {
	inCols  int
	fields  []*field
	derived []derived
	rules   []rule
	// all is the rules joined by &&, run first: when it holds, as for
	// nearly every row, one program run checks them all.
	all *vm.Program
	// fillEnv says the environment is filled for every row, because
	// some derived field or rule has no predicate; otherwise it is
	// filled only for a rule whose predicate leaves it undecided.
	fillEnv bool
	schema  record.Schema
	env     map[string]any
	vm      vm.VM
	vals    []value // the current row: fields, then derived
	// sizes are the last output batch's, to grow the next one once.
	sizes record.Sizes
}

// finish completes a plan whose configuration had no mistakes.
func (e *envBuilder) finish(p *plan) map[string]any {
	slots := map[string]ref{}
	for i, f := range p.fields {
		f.inEnv = e.used[f.name]
		slots[f.name] = ref{name: f.name, slot: i, typ: f.typ, scale: f.scale}
		p.schema.Fields = append(p.schema.Fields, record.Field{Name: f.name, Type: f.typ, Scale: f.scale, Nullable: !f.required})
	}
	for j := range p.derived {
		d := &p.derived[j]
		d.inEnv = e.used[d.name]
		slots[d.name] = ref{name: d.name, slot: len(p.fields) + j, typ: d.typ, scale: d.scale}
		p.schema.Fields = append(p.schema.Fields, record.Field{Name: d.name, Type: d.typ, Scale: d.scale, Nullable: true})
	}
	p.vals = make([]value, len(p.fields)+len(p.derived))
	srcs := make([]string, len(p.rules))
	for k := range p.rules {
		r := &p.rules[k]
		for _, name := range r.refNames {
			r.refs = append(r.refs, slots[name])
		}
		srcs[k] = "(\n" + r.src + "\n)"
		if pred, can := compilePredicate(r.src, slots); can {
			r.pred = pred
		} else {
			p.fillEnv = true
		}
	}
	if len(p.derived) > 0 {
		p.fillEnv = true
	}
	if len(p.rules) > 1 {
		// Should the joined rules not compile (they always should), the
		// rules simply run one by one.
		p.all, _ = expr.Compile(strings.Join(srcs, " && "), expr.Env(e.run), expr.AsBool())
	}
	env := make(map[string]any, len(e.used))
	for name := range e.used {
		env[name] = nil
	}
	return env
}

// row types, derives and checks row of b into p.vals. It returns the
// error type and reason of a refused row, or "" for a row that passes.
func (p *plan) row(b *record.Batch, row int, now int64) (string, string) {
	for i, f := range p.fields {
		v := &p.vals[i]
		if fail := f.read(b, row, now, v); fail != ok {
			return fail.errorType(), f.reason(fail, b, row, v)
		}
		if f.inEnv && p.fillEnv {
			p.env[f.name] = box(f.typ, f.scale, v)
		}
	}
	for j := range p.derived {
		d := &p.derived[j]
		v := &p.vals[len(p.fields)+j]
		out, err := p.vm.Run(d.prog, p.env)
		if err != nil {
			return ErrDeriveFailed, fmt.Sprintf("%s: %s", d.name, runtimeMessage(err))
		}
		if reason := d.set(out, v); reason != "" {
			return ErrDeriveFailed, reason
		}
		if d.inEnv {
			p.env[d.name] = box(d.typ, d.scale, v)
		}
	}
	if p.all != nil && p.fillEnv {
		if out, err := p.vm.Run(p.all, p.env); err == nil && out == true {
			return "", ""
		}
	}
	filled := p.fillEnv
	for k := range p.rules {
		r := &p.rules[k]
		if r.pred != nil {
			switch r.pred(p.vals) {
			case holds:
				continue
			case fails:
				return r.errorType, p.ruleReason(r, nil)
			}
		}
		if !filled {
			p.boxFields()
			filled = true
		}
		out, err := p.vm.Run(r.prog, p.env)
		if err == nil && out == true {
			continue
		}
		return r.errorType, p.ruleReason(r, err)
	}
	return "", ""
}

// boxFields puts the current row's fields into the environment.
func (p *plan) boxFields() {
	for i, f := range p.fields {
		if f.inEnv {
			p.env[f.name] = box(f.typ, f.scale, &p.vals[i])
		}
	}
}

// ruleReason explains a broken rule with the values it read, e.g.
// `price_not_negative: price must not be negative (price: -5.00)`.
func (p *plan) ruleReason(r *rule, err error) string {
	var sb strings.Builder
	sb.WriteString(r.name)
	sb.WriteString(": ")
	if r.message != "" {
		sb.WriteString(r.message)
	} else {
		sb.WriteString(strings.Join(strings.Fields(r.src), " "))
		sb.WriteString(" does not hold")
	}
	if err != nil {
		sb.WriteString(": ")
		sb.WriteString(runtimeMessage(err))
	}
	if len(r.refs) > 0 {
		sb.WriteString(" (")
		for i, rf := range r.refs {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(rf.name)
			sb.WriteString(": ")
			v := &p.vals[rf.slot]
			text := formatTyped(rf.typ, rf.scale, v)
			if rf.typ == record.String && !v.null {
				text = quote(text)
			}
			sb.WriteString(text)
		}
		sb.WriteString(")")
	}
	return sb.String()
}

// emit appends the current row's values to out, after StartRow.
func (p *plan) emit(out *record.Batch) {
	for i, f := range p.fields {
		appendValue(out, f.typ, &p.vals[i])
	}
	for j := range p.derived {
		appendValue(out, p.derived[j].typ, &p.vals[len(p.fields)+j])
	}
}

func appendValue(out *record.Batch, t record.Type, v *value) {
	if v.null {
		out.AppendNull()
		return
	}
	switch t {
	case record.String:
		out.AppendBytes(v.s)
	case record.Int64:
		out.AppendInt64(v.i)
	case record.Decimal:
		out.AppendDecimal(v.i)
	case record.Float64:
		out.AppendFloat64(v.f)
	case record.Bool:
		out.AppendBool(v.i != 0)
	case record.Timestamp:
		out.AppendMicros(v.i)
	case record.Int16:
		out.AppendInt16(int16(v.i))
	case record.Int32:
		out.AppendInt32(int32(v.i))
	case record.Date:
		out.AppendDate(int32(v.i))
	case record.UUID:
		out.AppendUUID(v.u)
	case record.JSON, record.Bytes:
		out.AppendBytes(v.s)
	}
}
