package spec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Has reports whether the step's config block holds the key path (e.g.
// "columns.price"), as Locate finds it.
func (s *Spec) Has(st *Step, path string) bool {
	return st.node != nil && path != "" && findPath(st.node, path) != nil
}

// FieldDef returns the key path in the step's config block where the
// step defines the field named field, and whether it does: an item of a
// list of mappings under `fields` or `columns` whose `name` is field
// ("fields[4]"), a key of such a mapping ("fields.price"), or an item of a
// list of names ("columns[2]").
func (s *Spec) FieldDef(st *Step, field string) (string, bool) {
	if st.node == nil || st.node.Kind != yaml.MappingNode {
		return "", false
	}
	for _, key := range []string{"fields", "columns"} {
		val := valueOf(st.node, key)
		if val == nil {
			continue
		}
		switch val.Kind {
		case yaml.SequenceNode:
			for i, item := range val.Content {
				switch item.Kind {
				case yaml.ScalarNode:
					if item.Value == field {
						return fmt.Sprintf("%s[%d]", key, i), true
					}
				case yaml.MappingNode:
					if name := valueOf(item, "name"); name != nil && name.Kind == yaml.ScalarNode && name.Value == field {
						return fmt.Sprintf("%s[%d]", key, i), true
					}
				}
			}
		case yaml.MappingNode:
			if valueOf(val, field) != nil {
				return key + "." + field, true
			}
		}
	}
	return "", false
}

// valueOf returns the value of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
