package plugin

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

type exampleConfig struct {
	Path    string            `yaml:"path" doc:"The folder to read." required:"true"`
	Pattern string            `yaml:"pattern" doc:"The glob of names to read."`
	Header  bool              `yaml:"header" doc:"The first line names the columns."`
	Create  bool              `yaml:"create" doc:"Create a missing folder."`
	Poll    Duration          `yaml:"poll_interval" doc:"How often to look."`
	MaxLine Size              `yaml:"max_line_bytes" doc:"The longest line."`
	Mode    string            `yaml:"after_read" doc:"What to do with a file." allowed:"keep,archive,delete"`
	Nulls   []string          `yaml:"null_values" doc:"Texts meaning null."`
	Columns map[string]string `yaml:"columns" doc:"Field to column."`
	Retry   struct {
		MaxTime Duration `yaml:"max_time" doc:"How long to retry." default:"0"`
	} `yaml:"retry" doc:"How to retry."`
	Fields []struct {
		Name string `yaml:"name" doc:"The field." required:"true"`
		Trim *bool  `yaml:"trim" doc:"Trim spaces." default:"true"`
	} `yaml:"fields" doc:"The fields."`
	Ignored  string `yaml:"-"`
	internal int
}

func TestSettingsOfDescribesEveryKeyWithItsDefault(t *testing.T) {
	cfg := exampleConfig{Pattern: "*.csv", Header: true, Poll: Duration(250 * time.Millisecond), MaxLine: 1 << 20, Mode: "keep", Nulls: []string{"", "null"}}
	got, err := SettingsOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{Name: "path", Type: TypeString, Required: true, Doc: "The folder to read."},
		{Name: "pattern", Type: TypeString, Default: "'*.csv'", Doc: "The glob of names to read."},
		{Name: "header", Type: TypeBool, Default: "true", Doc: "The first line names the columns."},
		{Name: "create", Type: TypeBool, Default: "false", Doc: "Create a missing folder."},
		{Name: "poll_interval", Type: TypeDuration, Default: "250ms", Doc: "How often to look."},
		{Name: "max_line_bytes", Type: TypeSize, Default: "1MiB", Doc: "The longest line."},
		{Name: "after_read", Type: TypeString, Default: "keep", Doc: "What to do with a file.", Allowed: []string{"keep", "archive", "delete"}},
		{Name: "null_values", Type: TypeList, Default: `["", "null"]`, Doc: "Texts meaning null."},
		{Name: "columns", Type: TypeMap, Doc: "Field to column."},
		{Name: "retry", Type: TypeObject, Doc: "How to retry."},
		{Name: "retry.max_time", Type: TypeDuration, Default: "0", Doc: "How long to retry."},
		{Name: "fields", Type: TypeList, Doc: "The fields."},
		{Name: "fields[].name", Type: TypeString, Required: true, Doc: "The field."},
		{Name: "fields[].trim", Type: TypeBool, Default: "true", Doc: "Trim spaces."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if _, err := SettingsOf(&cfg); err != nil {
		t.Errorf("a pointer to the defaults: %v", err)
	}
}

func TestSettingsOfRefusesTagMistakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"no doc", struct {
			A string `yaml:"a"`
		}{}, `key a (field A): no doc tag`},
		{"no doc in a list element", struct {
			L []struct {
				B int `yaml:"b"`
			} `yaml:"l" doc:"A list."`
		}{}, `key l[].b (field B): no doc tag`},
		{"two defaults", struct {
			A string `yaml:"a" doc:"A." default:"x"`
		}{A: "w"}, `default tag "x", but the defaults hold w`},
		{"required with a default", struct {
			A string `yaml:"a" doc:"A." required:"true"`
		}{A: "w"}, `required, yet with default w`},
		{"default not allowed", struct {
			A string `yaml:"a" doc:"A." allowed:"p,q"`
		}{A: "w"}, `default w is not one of the allowed p, q`},
		{"bad required", struct {
			A string `yaml:"a" doc:"A." required:"yes"`
		}{}, `required:"yes"`},
		{"unknown type", struct {
			A chan int `yaml:"a" doc:"A."`
		}{}, `cannot tell the type of chan int`},
		{"not a struct", 5, `want a struct`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SettingsOf(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSettingsCrossDescribe(t *testing.T) {
	settings := MustSettingsOf(exampleConfig{Mode: "keep"})
	srv := &infoServer{p: Plugin{Name: "x", Settings: settings}}
	r, err := srv.Describe(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []Setting // read back as the engine does (core/host)
	for _, s := range r.Settings {
		got = append(got, Setting{Name: s.Name, Type: s.Type, Default: s.Default, Required: s.Required, Doc: s.Doc, Allowed: s.Allowed})
	}
	if !reflect.DeepEqual(got, settings) {
		t.Errorf("across the wire: got\n%+v\nwant\n%+v", got, settings)
	}
}

func TestCheckSettingsFindsUndescribedAndUnknownKeys(t *testing.T) {
	type cfg struct {
		A string   `yaml:"a"`
		B Duration `yaml:"b"`
		L []struct {
			C int `yaml:"c"`
		} `yaml:"l"`
	}
	all := []Setting{{Name: "a", Type: TypeString}, {Name: "b", Type: TypeDuration}, {Name: "l", Type: TypeList}, {Name: "l[].c", Type: TypeInt}}
	if err := CheckSettings(cfg{}, all); err != nil {
		t.Fatalf("all described: %v", err)
	}
	for _, tc := range []struct {
		name     string
		settings []Setting
		want     string
	}{
		{"a key without a description", all[1:], "key a has no setting describing it"},
		{"a key of a list element without one", all[:3], "key l[].c has no setting describing it"},
		{"a description of no key", append(slices.Clone(all), Setting{Name: "d", Type: TypeInt}), "setting d names no key of the config"},
		{"a wrong type", []Setting{all[0], {Name: "b", Type: TypeBool}, all[2], all[3]}, "does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSettings(cfg{}, tc.settings)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := CheckSettings(exampleConfig{}, MustSettingsOf(exampleConfig{})); err != nil {
		t.Errorf("SettingsOf's own description: %v", err)
	}
}
