package cleanser

import (
	"bytes"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/seed-etl/etl/core/record"
)

// Most rules are comparisons of fields with constants joined by &&, || and
// !, like `price == nil || price >= 0`. Such a rule is also compiled to a
// predicate: Go closures that read the row's typed values where they are,
// with no environment to fill and nothing boxed. A predicate decides only
// what it knows expr decides the same way (numbers, strings and bools
// compared with each other, a null compared with == or !=); anything else,
// such as a null compared with >=, it leaves to the expr program, which
// then runs as it always did. So a rule means what expr says it means;
// the predicate only gets there sooner. TestPredicatesAgreeWithExpr holds
// the two to that.

// verdict is what a predicate decides for a row.
type verdict int8

const (
	fails     verdict = iota // the rule does not hold
	holds                    // the rule holds
	undecided                // expr must decide
)

// predicate decides a rule for the current row's values.
type predicate func(vals []value) verdict

// scalarKind is the kind of value an operand gives.
type scalarKind uint8

const (
	kindNil scalarKind = iota
	kindInt
	kindFloat
	kindString
	kindBool
)

// scalar is one operand's value for the current row.
type scalar struct {
	kind scalarKind // kindNil for a null
	i    int64      // kindInt; kindBool (0/1)
	f    float64    // kindFloat
	s    []byte     // kindString
}

// operand gives one side of a comparison: a field's value or a constant.
type operand func(vals []value) scalar

// compilePredicate compiles the rule src to a predicate over the values
// in slots, or gives false when src uses anything a predicate does not
// do (calls, arithmetic, members, other types), so that expr runs it alone.
func compilePredicate(src string, slots map[string]ref) (predicate, bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, false
	}
	return compileBool(tree.Node, slots)
}

func compileBool(node ast.Node, slots map[string]ref) (predicate, bool) {
	switch n := node.(type) {
	case *ast.BoolNode:
		v := fails
		if n.Value {
			v = holds
		}
		return func([]value) verdict { return v }, true
	case *ast.IdentifierNode:
		rf, found := slots[n.Value]
		if !found || rf.typ != record.Bool {
			return nil, false
		}
		return func(vals []value) verdict {
			switch v := &vals[rf.slot]; {
			case v.null:
				return undecided
			case v.i != 0:
				return holds
			}
			return fails
		}, true
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return nil, false
		}
		x, can := compileBool(n.Node, slots)
		if !can {
			return nil, false
		}
		return func(vals []value) verdict {
			switch x(vals) {
			case holds:
				return fails
			case fails:
				return holds
			}
			return undecided
		}, true
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and", "||", "or":
			return compileLogic(n, slots)
		case "==", "!=", "<", "<=", ">", ">=":
			return compileComparison(n, slots)
		}
	}
	return nil, false
}

// compileLogic compiles && and ||, which stop at their left side as expr's do.
func compileLogic(n *ast.BinaryNode, slots map[string]ref) (predicate, bool) {
	l, canL := compileBool(n.Left, slots)
	r, canR := compileBool(n.Right, slots)
	if !canL || !canR {
		return nil, false
	}
	next := holds // what the left side gives when the right decides
	if n.Operator == "||" || n.Operator == "or" {
		next = fails
	}
	return func(vals []value) verdict {
		if v := l(vals); v != next {
			return v
		}
		return r(vals)
	}, true
}

func compileComparison(n *ast.BinaryNode, slots map[string]ref) (predicate, bool) {
	if p, can := compileFieldTest(n, slots); can {
		return p, true
	}
	l, canL := compileOperand(n.Left, slots)
	r, canR := compileOperand(n.Right, slots)
	if !canL || !canR {
		return nil, false
	}
	code := opCode(n.Operator)
	return func(vals []value) verdict { return compare(code, l(vals), r(vals)) }, true
}

// compare decides a op b as expr does, or gives undecided where expr
// would fail (an order with a null or with a bool) or mixes kinds.
func compare(op comparison, a, b scalar) verdict {
	var c int // -1, 0 or 1: a against b
	equality := op == opEq || op == opNe
	switch {
	case a.kind == kindNil || b.kind == kindNil:
		if !equality {
			return undecided
		}
		c = 1
		if a.kind == b.kind {
			c = 0
		}
	case a.kind == kindInt && b.kind == kindInt:
		c = cmpOrdered(a.i, b.i)
	case isNumber(a.kind) && isNumber(b.kind):
		x, y := a.float(), b.float()
		if x != x || y != y { // NaN: every order is false, != true
			return verdictOf(op == opNe)
		}
		c = cmpOrdered(x, y)
	case a.kind == kindString && b.kind == kindString:
		c = bytes.Compare(a.s, b.s)
	case a.kind == kindBool && b.kind == kindBool && equality:
		c = 1
		if a.i == b.i {
			c = 0
		}
	default:
		return undecided
	}
	return verdictOf(op.holds(c))
}

func verdictOf(b bool) verdict {
	if b {
		return holds
	}
	return fails
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func isNumber(k scalarKind) bool { return k == kindInt || k == kindFloat }

func (s scalar) float() float64 {
	if s.kind == kindInt {
		return float64(s.i)
	}
	return s.f
}

// compileFieldTest compiles the commonest comparison, a field against a
// constant of its kind (`price >= 0`, `action != "PURCHASE"`, `price !=
// nil`), to one closure that reads the field where it is, with the
// operator chosen here rather than per row. It gives what compare gives
// for the same operands, and false for any other comparison, which then
// goes through compare.
func compileFieldTest(n *ast.BinaryNode, slots map[string]ref) (predicate, bool) {
	op, field, other := n.Operator, n.Left, n.Right
	if _, isField := field.(*ast.IdentifierNode); !isField {
		op, field, other = mirror(op), n.Right, n.Left
	}
	id, isField := field.(*ast.IdentifierNode)
	c, isConst := constantOf(other)
	if !isField || !isConst {
		return nil, false
	}
	rf, found := slots[id.Value]
	if !found {
		return nil, false
	}
	if _, can := fieldOperand(rf); !can {
		return nil, false
	}
	slot, code := rf.slot, opCode(op)
	if c.kind == kindNil {
		if code != opEq && code != opNe {
			return nil, false
		}
		isNull := code == opEq
		return func(vals []value) verdict { return verdictOf(vals[slot].null == isNull) }, true
	}
	// What a null field gives: == a constant fails, != holds, an order
	// is expr's to refuse.
	null := undecided
	switch code {
	case opEq:
		null = fails
	case opNe:
		null = holds
	}
	switch {
	case isInt(rf.typ) && c.kind == kindInt:
		k := c.i
		return func(vals []value) verdict {
			v := &vals[slot]
			if v.null {
				return null
			}
			return verdictOf(code.holds(cmpOrdered(v.i, k)))
		}, true
	case rf.typ == record.Float64 && isNumber(c.kind):
		k := c.float()
		return func(vals []value) verdict {
			v := &vals[slot]
			switch {
			case v.null:
				return null
			case v.f != v.f: // NaN: every order is false, != true
				return verdictOf(code == opNe)
			}
			return verdictOf(code.holds(cmpOrdered(v.f, k)))
		}, true
	case (isInt(rf.typ) || rf.typ == record.Decimal) && isNumber(c.kind):
		k, div := c.float(), 1.0
		if rf.typ == record.Decimal {
			div = pow10f[rf.scale]
		}
		return func(vals []value) verdict {
			v := &vals[slot]
			if v.null {
				return null
			}
			return verdictOf(code.holds(cmpOrdered(float64(v.i)/div, k)))
		}, true
	case rf.typ == record.String && c.kind == kindString:
		k := c.s
		return func(vals []value) verdict {
			v := &vals[slot]
			if v.null {
				return null
			}
			return verdictOf(code.holds(bytes.Compare(v.s, k)))
		}, true
	}
	return nil, false
}

func isInt(t record.Type) bool { return t == record.Int64 || t == record.Int16 || t == record.Int32 }

// mirror gives the operator that means the same with its sides swapped.
func mirror(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

// comparison is a comparison operator, resolved once.
type comparison uint8

const (
	opEq comparison = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

func opCode(op string) comparison {
	switch op {
	case "==":
		return opEq
	case "!=":
		return opNe
	case "<":
		return opLt
	case "<=":
		return opLe
	case ">":
		return opGt
	}
	return opGe
}

// holds says whether the comparison holds for c, -1, 0 or 1 as the left
// side is below, equal to or above the right.
func (o comparison) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

// compileOperand compiles a field or a constant: a field of a type
// expressions see as a number, a string or a bool (as box gives them), or
// nil, a number, a string or a bool written in the rule.
func compileOperand(node ast.Node, slots map[string]ref) (operand, bool) {
	switch n := node.(type) {
	case *ast.IdentifierNode:
		rf, found := slots[n.Value]
		if !found {
			return nil, false
		}
		return fieldOperand(rf)
	}
	if c, is := constantOf(node); is {
		return func([]value) scalar { return c }, true
	}
	return nil, false
}

// constantOf gives the value of a constant written in a rule: nil, a
// number (negative too), a string or a bool.
func constantOf(node ast.Node) (scalar, bool) {
	switch n := node.(type) {
	case *ast.NilNode:
		return scalar{kind: kindNil}, true
	case *ast.IntegerNode:
		return scalar{kind: kindInt, i: int64(n.Value)}, true
	case *ast.FloatNode:
		return scalar{kind: kindFloat, f: n.Value}, true
	case *ast.StringNode:
		return scalar{kind: kindString, s: []byte(n.Value)}, true
	case *ast.BoolNode:
		b := scalar{kind: kindBool}
		if n.Value {
			b.i = 1
		}
		return b, true
	case *ast.UnaryNode:
		if n.Operator != "-" {
			return scalar{}, false
		}
		switch x := n.Node.(type) {
		case *ast.IntegerNode:
			return scalar{kind: kindInt, i: -int64(x.Value)}, true
		case *ast.FloatNode:
			return scalar{kind: kindFloat, f: -x.Value}, true
		}
	}
	return scalar{}, false
}

func fieldOperand(rf ref) (operand, bool) {
	slot := rf.slot
	switch rf.typ {
	case record.Int64, record.Int16, record.Int32:
		return func(vals []value) scalar {
			v := &vals[slot]
			if v.null {
				return scalar{}
			}
			return scalar{kind: kindInt, i: v.i}
		}, true
	case record.Decimal:
		div := pow10f[rf.scale]
		return func(vals []value) scalar {
			v := &vals[slot]
			if v.null {
				return scalar{}
			}
			return scalar{kind: kindFloat, f: float64(v.i) / div}
		}, true
	case record.Float64:
		return func(vals []value) scalar {
			v := &vals[slot]
			if v.null {
				return scalar{}
			}
			return scalar{kind: kindFloat, f: v.f}
		}, true
	case record.String:
		return func(vals []value) scalar {
			v := &vals[slot]
			if v.null {
				return scalar{}
			}
			return scalar{kind: kindString, s: v.s}
		}, true
	case record.Bool:
		return func(vals []value) scalar {
			v := &vals[slot]
			if v.null {
				return scalar{}
			}
			return scalar{kind: kindBool, i: v.i}
		}, true
	}
	return nil, false
}
