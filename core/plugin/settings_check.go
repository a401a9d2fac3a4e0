package plugin

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// CheckSettings compares settings with the keys of the config struct cfg
// as DecodeConfig reads them. It returns an error naming every key that no
// setting describes, every setting that names no key, and every setting
// whose type DecodeConfig refuses a value of. Call it from a plugin's tests,
// so that a key added without a description fails them.
func CheckSettings(cfg any, settings []Setting) error {
	keys, err := configKeys(cfg)
	if err != nil {
		return err
	}
	var problems []string
	described := map[string]bool{}
	for _, s := range settings {
		described[s.Name] = true
		if !slices.Contains(keys, s.Name) {
			problems = append(problems, fmt.Sprintf("setting %s names no key of the config", s.Name))
		}
	}
	for _, k := range keys {
		if !described[k] {
			problems = append(problems, fmt.Sprintf("key %s has no setting describing it", k))
		}
	}
	if len(problems) == 0 {
		sample, err := yaml.Marshal(sampleTree(settings, ""))
		if err != nil {
			return err
		}
		v := reflect.New(reflect.TypeOf(cfg))
		if err := DecodeConfig(sample, v.Interface()); err != nil {
			problems = append(problems, fmt.Sprintf("a value of each setting's type does not decode: %v\n%s", err, sample))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("settings of %T:\n  %s", cfg, strings.Join(problems, "\n  "))
	}
	return nil
}

// configKeys lists the key paths yaml.v3 writes for cfg, with every
// pointer set and every list of objects holding one element.
func configKeys(cfg any) ([]string, error) {
	v := reflect.New(reflect.TypeOf(cfg)).Elem()
	fill(v)
	var root yaml.Node
	if err := root.Encode(v.Interface()); err != nil {
		return nil, fmt.Errorf("settings of %T: %w", cfg, err)
	}
	var keys []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := prefix + n.Content[i].Value
				keys = append(keys, k)
				walk(n.Content[i+1], k+".")
			}
		case yaml.SequenceNode:
			if len(n.Content) > 0 {
				walk(n.Content[0], strings.TrimSuffix(prefix, ".")+"[].")
			}
		}
	}
	walk(&root, "")
	return keys, nil
}

// fill sets every pointer under v and gives every slice of structs one
// element, so that yaml.v3 writes all the keys.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		if elemStruct(v.Type()) != nil {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			fill(v.Index(0))
		}
	}
}

// sampleTree is a configuration setting every key under prefix to a value
// of its type.
func sampleTree(settings []Setting, prefix string) map[string]any {
	out := map[string]any{}
	for _, s := range settings {
		rest, ok := strings.CutPrefix(s.Name, prefix)
		if !ok || strings.ContainsAny(rest, ".[") {
			continue
		}
		switch s.Type {
		case TypeString:
			out[rest] = "x"
		case TypeInt:
			out[rest] = 1
		case TypeFloat:
			out[rest] = 1.5
		case TypeBool:
			out[rest] = true
		case TypeDuration:
			out[rest] = "1s"
		case TypeSize:
			out[rest] = "1.5KiB"
		case TypeMap:
			out[rest] = map[string]any{}
		case TypeObject:
			out[rest] = sampleTree(settings, s.Name+".")
		case TypeList:
			if elem := sampleTree(settings, s.Name+"[]."); len(elem) > 0 {
				out[rest] = []any{elem}
			} else {
				out[rest] = []any{}
			}
		}
	}
	return out
}
