package spec

import "testing"

// TestFieldDefFindsWhereAStepDefinesAField: a field is found as an item
// of a `fields` list of mappings, a key of a `fields` mapping or an item of
// a `columns` list of names, and located at its line; other fields and
// steps without such keys are not.
func TestFieldDefFindsWhereAStepDefinesAField(t *testing.T) {
	s, err := Parse("p.yaml", []byte(`version: 1
name: shop
source:
  plugin: csvdir
  config:
    columns: [user_id, price]
transforms:
  - plugin: cleanser
    config:
      fields:
        - {name: user_id, type: int64}
        - name: price
          type: decimal
  - plugin: other
    config:
      fields:
        price: {type: string}
sink:
  plugin: postgres
  config:
    columns: {price: amount}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		step      *Step
		field     string
		path      string
		line, col int
	}{
		{&s.Source, "price", "columns[1]", 6, 24},
		{&s.Transforms[0], "price", "fields[1]", 12, 11},
		{&s.Transforms[0], "user_id", "fields[0]", 11, 11},
		{&s.Transforms[1], "price", "fields.price", 17, 9},
		{&s.Transforms[0], "session_id", "", 0, 0},
		{&s.Transforms[1], "user_id", "", 0, 0},
	}
	for _, tt := range tests {
		path, ok := s.FieldDef(tt.step, tt.field)
		if path != tt.path || ok != (tt.path != "") {
			t.Errorf("%s: FieldDef(%q) = %q, %v; want %q", tt.step.Role, tt.field, path, ok, tt.path)
			continue
		}
		if ok {
			if e := s.Locate(tt.step, path); e.Line != tt.line || e.Col != tt.col {
				t.Errorf("%s: %s is at %d:%d, want %d:%d", tt.step.Role, path, e.Line, e.Col, tt.line, tt.col)
			}
		}
	}
	if !s.Has(&s.Sink, "columns.price") || s.Has(&s.Sink, "columns.user_id") || s.Has(&s.Sink, "") {
		t.Error("Has: want columns.price only")
	}
}
