package plugin

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// Setting describes one key of a plugin's `config:` block. A plugin gives
// its settings in Plugin.Settings; `etl plugins NAME` prints them and the
// README's tables are made from them, so that a setting is described once.
type Setting struct {
	// Name is the key path inside the block: "path", "retry.max_time",
	// or "fields[].type" for a key of every element of the list fields.
	Name string
	// Type is one of the Type constants.
	Type string
	// Default is the value used when the key is not set, as written in
	// YAML; empty when there is none.
	Default string
	// Required says the key must be set.
	Required bool
	// Doc says in one or two sentences what the key does.
	Doc string
	// Allowed lists the values accepted when there is a fixed set.
	Allowed []string
}

// The types of a Setting.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeFloat    = "float"
	TypeBool     = "bool"
	TypeDuration = "duration" // a Duration, e.g. "250ms"
	TypeSize     = "size"     // a Size, e.g. "1.5MiB"
	TypeList     = "list"     // a YAML sequence; of objects when keys NAME[].x follow
	TypeMap      = "map"      // a YAML mapping of keys the user chooses
	TypeObject   = "object"   // a YAML mapping of the keys NAME.x that follow
)

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

// SettingsOf describes the settings of a config struct from its fields,
// in their order. defaults is the struct (or a pointer to it) holding the
// defaults the plugin decodes over, so that the defaults described are
// those used. Each field's tags say the rest:
//
//	yaml:"key"           the key, as DecodeConfig reads it (yaml:"-" is not a setting)
//	doc:"..."            what the key does, in one or two sentences (required)
//	default:"..."        the default, when it is not the field's value in defaults
//	                     (e.g. one computed from other keys)
//	required:"true"      the key must be set
//	allowed:"a,b,c"      the values accepted
//	type:"..."           the Setting type, when it is not the one of the Go type
//
// A struct field is an object whose keys follow as "key.sub"; a slice of
// structs a list whose elements' keys follow as "key[].sub". A Duration
// field is a duration, a Size field a size. A mistake in the tags is an
// error naming the key.
func SettingsOf(defaults any) ([]Setting, error) {
	v := reflect.ValueOf(defaults)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("settings of %T: want a struct", defaults)
	}
	var out []Setting
	if err := describeStruct(v, "", &out); err != nil {
		return nil, fmt.Errorf("settings of %s: %w", v.Type(), err)
	}
	return out, nil
}

// MustSettingsOf is SettingsOf for a package-level Plugin value: it panics
// on a mistake in the tags, which any test of the plugin then shows.
func MustSettingsOf(defaults any) []Setting {
	s, err := SettingsOf(defaults)
	if err != nil {
		panic(err)
	}
	return s
}

func describeStruct(v reflect.Value, prefix string, out *[]Setting) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			if err := describeStruct(v.Field(i), prefix, out); err != nil {
				return err
			}
			continue
		}
		if key == "" {
			key = strings.ToLower(f.Name) // as yaml.v3 names it
		}
		s, err := describeField(f, v.Field(i), prefix+key)
		if err != nil {
			return fmt.Errorf("key %s (field %s): %w", prefix+key, f.Name, err)
		}
		*out = append(*out, s)
		// The keys under an object or a list of objects.
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType && ft != sizeType:
			fv := v.Field(i)
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv = reflect.New(fv.Type().Elem())
				}
				fv = fv.Elem()
			}
			if err := describeStruct(fv, s.Name+".", out); err != nil {
				return err
			}
		case ft.Kind() == reflect.Slice && elemStruct(ft) != nil:
			if err := describeStruct(reflect.New(elemStruct(ft)).Elem(), s.Name+"[].", out); err != nil {
				return err
			}
		}
	}
	return nil
}

// elemStruct is the struct type of a slice's elements, or nil.
func elemStruct(t reflect.Type) reflect.Type {
	e := t.Elem()
	for e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	if e.Kind() == reflect.Struct && e != durationType && e != sizeType {
		return e
	}
	return nil
}

func describeField(f reflect.StructField, v reflect.Value, name string) (Setting, error) {
	s := Setting{Name: name, Doc: strings.TrimSpace(f.Tag.Get("doc"))}
	if s.Doc == "" {
		return s, fmt.Errorf(`no doc tag: say in doc:"..." what the key does`)
	}
	s.Type = f.Tag.Get("type")
	if s.Type == "" {
		s.Type = typeOf(f.Type)
		if s.Type == "" {
			return s, fmt.Errorf(`cannot tell the type of %s: give it in type:"..."`, f.Type)
		}
	}
	switch r := f.Tag.Get("required"); r {
	case "", "false":
	case "true":
		s.Required = true
	default:
		return s, fmt.Errorf(`required:%q: want "true" or "false"`, r)
	}
	if a := f.Tag.Get("allowed"); a != "" {
		for _, x := range strings.Split(a, ",") {
			s.Allowed = append(s.Allowed, strings.TrimSpace(x))
		}
	}
	value := formatDefault(v)
	tagged, hasTag := f.Tag.Lookup("default")
	switch {
	case hasTag && value != "" && !(v.Kind() == reflect.Bool && !v.Bool()):
		return s, fmt.Errorf("default tag %q, but the defaults hold %s: keep one", tagged, value)
	case hasTag:
		s.Default = tagged
	default:
		s.Default = value
	}
	if s.Required && s.Default != "" {
		return s, fmt.Errorf("required, yet with default %s", s.Default)
	}
	if s.Default != "" && s.Allowed != nil && !slices.Contains(s.Allowed, strings.Trim(s.Default, `"'`)) {
		return s, fmt.Errorf("default %s is not one of the allowed %s", s.Default, strings.Join(s.Allowed, ", "))
	}
	return s, nil
}

// typeOf is the Setting type of a Go type, "" when it has none.
func typeOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		return TypeDuration
	case sizeType:
		return TypeSize
	}
	switch t.Kind() {
	case reflect.String:
		return TypeString
	case reflect.Bool:
		return TypeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return TypeInt
	case reflect.Float32, reflect.Float64:
		return TypeFloat
	case reflect.Slice, reflect.Array:
		return TypeList
	case reflect.Map:
		return TypeMap
	case reflect.Struct:
		return TypeObject
	}
	return ""
}

// formatDefault writes the value a field holds in the defaults as YAML
// text, quoted where YAML needs it: "" for a zero value, except false for a
// bool.
func formatDefault(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if s, ok := v.Interface().(fmt.Stringer); ok && (v.Type() == durationType || v.Type() == sizeType) {
		if v.IsZero() {
			return ""
		}
		return s.String()
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Struct:
		return ""
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return ""
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = formatDefault(v.Index(i))
			if v.Index(i).Kind() == reflect.String && (items[i] == "" || strings.ContainsAny(items[i], ",[]{}")) {
				items[i] = strconv.Quote(v.Index(i).String())
			}
		}
		return "[" + strings.Join(items, ", ") + "]"
	case reflect.Map:
		if v.Len() == 0 {
			return ""
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, fmt.Sprintf("%s: %s", formatDefault(k), formatDefault(v.MapIndex(k))))
		}
		slices.Sort(keys)
		return "{" + strings.Join(keys, ", ") + "}"
	}
	if v.IsZero() {
		return ""
	}
	if v.Kind() == reflect.String {
		// Quoted where YAML needs it: "*.csv" would be an alias, "null" no
		// text at all.
		out, err := yaml.Marshal(v.String())
		if err != nil {
			return v.String()
		}
		return strings.TrimSpace(string(out))
	}
	return fmt.Sprint(v.Interface())
}

// settingsToPB is settings as Describe sends them.
func settingsToPB(settings []Setting) []*pb.Setting {
	out := make([]*pb.Setting, len(settings))
	for i, s := range settings {
		out[i] = &pb.Setting{Name: s.Name, Type: s.Type, Default: s.Default, Required: s.Required, Doc: s.Doc, Allowed: s.Allowed}
	}
	return out
}
