package cleanser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"

	"github.com/seed-etl/etl/core/record"
)

// How expressions see values: a field is a variable named after it,
// holding a string, an int64, a float64, a bool or a time.Time (UTC);
// a decimal is a float64 there (it is stored exactly all the same); an
// int16 or int32 is an int64; a date is a time.Time at midnight UTC; a
// uuid is its canonical lower-case text (8-4-4-4-12); a json is its text
// and a bytes a string holding the bytes; a null is nil.
//
// Every expression is compiled twice. The first compilation, against an
// environment where each variable has its field's type, checks the
// expression and reports its mistakes (`price >= "a"`). The second, against
// one where nullable variables have no static type, is the one that runs:
// with a typed string variable expr would emit instructions that fail on
// nil, while the untyped one compares nil with "PURCHASE" as false. Both
// environments are maps, read by expr's fast map access; one map is reused
// for every row.

// envBuilder declares the variables of the expression environment.
type envBuilder struct {
	check types.Map // each variable with its type
	run   types.Map // nullable variables untyped
	index map[string]int
	used  map[string]bool // variables some expression reads
}

func newEnvBuilder(fields []*field) *envBuilder {
	e := &envBuilder{check: types.Map{}, run: types.Map{}, index: map[string]int{}, used: map[string]bool{}}
	for _, f := range fields {
		switch {
		case f.name != "" && f.typed:
			e.add(f.name, f.typ, !f.required)
		case f.name != "":
			// Its type is a mistake already reported: rules that read it
			// are checked with it untyped, so that no rule is reported
			// for a name it would know but for that mistake.
			e.addAny(f.name)
		}
	}
	return e
}

// addAny declares name with no type.
func (e *envBuilder) addAny(name string) {
	if _, dup := e.index[name]; dup {
		return
	}
	e.index[name] = len(e.index)
	e.check[name] = types.Any
	e.run[name] = types.Any
}

// add declares the variable name of type t.
func (e *envBuilder) add(name string, t record.Type, nullable bool) {
	if _, dup := e.index[name]; dup {
		return
	}
	e.index[name] = len(e.index)
	e.check[name] = exprType(t)
	if nullable {
		e.run[name] = types.Any
	} else {
		e.run[name] = exprType(t)
	}
}

// exprType is the type expressions see for a field of type t.
func exprType(t record.Type) types.Type {
	switch t {
	case record.Int64, record.Int16, record.Int32:
		return types.Int64
	case record.Decimal, record.Float64:
		return types.Float64
	case record.Bool:
		return types.Bool
	case record.Timestamp, record.Date:
		return types.TypeOf(time.Time{})
	}
	return types.String
}

// compile checks src against the typed environment and compiles it
// against the running one. It returns the running program, the typed
// result and the variables src reads.
func (e *envBuilder) compile(src string, opts ...expr.Option) (*vm.Program, reflect.Type, []string, error) {
	checked, err := expr.Compile(src, append([]expr.Option{expr.Env(maps.Clone(e.check))}, opts...)...)
	if err != nil {
		return nil, nil, nil, describeExprError(err)
	}
	prog, err := expr.Compile(src, append([]expr.Option{expr.Env(maps.Clone(e.run))}, opts...)...)
	if err != nil {
		return nil, nil, nil, describeExprError(err)
	}
	var refs []string
	node := checked.Node()
	ast.Walk(&node, identifiers(func(name string) {
		if _, ok := e.index[name]; ok && !contains(refs, name) {
			e.used[name] = true
			refs = append(refs, name)
		}
	}))
	return prog, checked.Node().Type(), refs, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// identifiers is an ast.Visitor calling fn with each identifier.
type identifiers func(name string)

// Visit implements ast.Visitor.
func (fn identifiers) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		fn(id.Value)
	}
}

// compileRule compiles a rule, which must give a bool.
func (e *envBuilder) compileRule(src string) (*vm.Program, []string, error) {
	prog, _, refs, err := e.compile(src, expr.AsBool())
	return prog, refs, err
}

// compileDerive compiles a derived field's expression and checks that its
// result fits the field's type.
func (e *envBuilder) compileDerive(src string, t record.Type) (*vm.Program, error) {
	prog, rt, _, err := e.compile(src)
	if err != nil {
		return nil, err
	}
	if rt != nil && rt.Kind() != reflect.Interface && !fits(rt, t) {
		return nil, fmt.Errorf("gives %s, which does not fit type %s", rt, t)
	}
	return prog, nil
}

// fits reports whether a result of Go type rt can fill a field of type t.
func fits(rt reflect.Type, t record.Type) bool {
	k := rt.Kind()
	isInt := k >= reflect.Int && k <= reflect.Uint64
	switch t {
	case record.String, record.UUID, record.JSON, record.Bytes:
		return k == reflect.String
	case record.Int64, record.Int16, record.Int32:
		return isInt
	case record.Decimal, record.Float64:
		return isInt || k == reflect.Float32 || k == reflect.Float64
	case record.Bool:
		return k == reflect.Bool
	case record.Timestamp, record.Date:
		return rt == reflect.TypeOf(time.Time{})
	}
	return false
}

// describeExprError turns expr's multi-line error into one line with the
// position: `unexpected token EOF at line 1, column 10`.
func describeExprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Errorf("%s at line %d, column %d", fe.Message, fe.Line, fe.Column+1)
	}
	return err
}

// runtimeMessage is the first line of an error from running a program.
func runtimeMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// ref is a variable an expression reads, for reasons: its slot in the
// row's values.
type ref struct {
	name  string
	slot  int
	typ   record.Type
	scale int
}

// rule is a compiled RuleConfig.
type rule struct {
	name, src, message, errorType string
	prog                          *vm.Program
	pred                          predicate // nil: only prog decides
	refNames                      []string
	refs                          []ref
}

// derived is a compiled DeriveConfig.
type derived struct {
	name             string
	typ              record.Type
	precision, scale int
	prog             *vm.Program
	inEnv            bool
	scratch          []byte
}

var pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// box returns a typed value as expressions see it.
func box(t record.Type, scale int, v *value) any {
	if v.null {
		return nil
	}
	switch t {
	case record.String:
		if v.canon != nil {
			return v.canon.boxed
		}
		return string(v.s)
	case record.Int64, record.Int16, record.Int32:
		return v.i
	case record.Date:
		return record.DateTime(int32(v.i))
	case record.UUID:
		return string(record.AppendUUIDText(nil, v.u[:]))
	case record.JSON, record.Bytes:
		return string(v.s)
	case record.Decimal:
		return float64(v.i) / pow10f[scale]
	case record.Float64:
		return v.f
	case record.Bool:
		return v.i != 0
	case record.Timestamp:
		return time.UnixMicro(v.i).UTC()
	}
	return nil
}

// set stores the result of a derived field's expression in v, or explains
// why it does not fit.
func (d *derived) set(out any, v *value) string {
	*v = value{}
	if out == nil {
		v.null = true
		return ""
	}
	bad := func() string { return fmt.Sprintf("%s: %v (%T) does not fit type %s", d.name, out, out, d.typ) }
	switch d.typ {
	case record.String:
		s, isString := out.(string)
		if !isString {
			return bad()
		}
		d.scratch = append(d.scratch[:0], s...)
		v.s = d.scratch
	case record.Int64, record.Int16, record.Int32:
		n, isInt := toInt64(out)
		if !isInt {
			return bad()
		}
		if lo, hi := intRange(d.typ); n < lo || n > hi {
			return fmt.Sprintf("%s: %d is out of range for %s (%d to %d)", d.name, n, d.typ, lo, hi)
		}
		v.i = n
	case record.UUID, record.JSON, record.Bytes:
		s, isString := out.(string)
		if !isString {
			return bad()
		}
		switch d.typ {
		case record.UUID:
			u, err := record.ParseUUID([]byte(s))
			if err != nil {
				return fmt.Sprintf("%s: %s is not a UUID", d.name, quote(s))
			}
			v.u = u
			return ""
		case record.JSON:
			if !json.Valid([]byte(s)) || !utf8.ValidString(s) {
				return fmt.Sprintf("%s: %s is not valid JSON", d.name, quote(s))
			}
		}
		d.scratch = append(d.scratch[:0], s...)
		v.s = d.scratch
	case record.Date:
		t, isTime := out.(time.Time)
		if !isTime {
			return bad()
		}
		v.i = int64(record.DaysOf(t.UTC()))
	case record.Float64:
		x, isNum := toFloat64(out)
		if !isNum {
			return bad()
		}
		v.f = x
	case record.Decimal:
		var text []byte
		if n, isInt := toInt64(out); isInt {
			text = strconv.AppendInt(d.scratch[:0], n, 10)
		} else if x, isNum := toFloat64(out); isNum && !math.IsInf(x, 0) && !math.IsNaN(x) {
			text = roundHalfAway(strconv.AppendFloat(d.scratch[:0], x, 'f', -1, 64), d.scale)
		} else {
			return bad()
		}
		d.scratch = text
		n, fail := parseDecimal(text, d.precision, d.scale)
		if fail != ok {
			return decimalRangeReason(d.name, string(text), string(text), d.precision, d.scale)
		}
		v.i = n
	case record.Bool:
		b, isBool := out.(bool)
		if !isBool {
			return bad()
		}
		if b {
			v.i = 1
		}
	case record.Timestamp:
		t, isTime := out.(time.Time)
		if !isTime {
			return bad()
		}
		v.i = t.UnixMicro()
	}
	return ""
}

// roundHalfAway rounds the plain decimal number in text (as strconv's 'f'
// format writes it) to scale digits after the point, half away from zero,
// in place. It rounds the shortest text of a float, the number the float
// stands for, so that 1.005 gives 1.01 and 2.5 gives 3.
func roundHalfAway(text []byte, scale int) []byte {
	point := bytes.IndexByte(text, '.')
	if point < 0 || len(text)-point-1 <= scale {
		return text
	}
	up := text[point+1+scale] >= '5'
	end := point + 1 + scale
	if scale == 0 {
		end = point
	}
	text = text[:end]
	if !up {
		return text
	}
	for i := len(text) - 1; i >= 0; i-- {
		switch c := text[i]; {
		case c == '.':
			continue
		case c == '9':
			text[i] = '0'
			continue
		case c >= '0' && c <= '8':
			text[i]++
			return text
		}
		// The sign: every digit carried.
		return slices.Insert(text, i+1, '1')
	}
	return slices.Insert(text, 0, '1')
}

func toInt64(x any) (int64, bool) {
	switch n := x.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case int16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return int64(n), true
		}
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case float64:
		if n == math.Trunc(n) && n >= -(1<<63) && n < 1<<63 {
			return int64(n), true
		}
	}
	return 0, false
}

func toFloat64(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	if i, isInt := toInt64(x); isInt {
		return float64(i), true
	}
	return 0, false
}
