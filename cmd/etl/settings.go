package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
)

// describePlugin starts the plugin name and returns what it says of
// itself through Describe, settings included.
func describePlugin(h *host.Host, name string) (host.Info, host.Location, error) {
	loc, err := h.Find(host.Ref{Name: name})
	if err != nil {
		return host.Info{}, loc, err
	}
	p, err := host.StartAt(context.Background(), "plugins", loc, host.StartOptions{StartTimeout: 10 * time.Second})
	if err != nil {
		return host.Info{}, loc, err
	}
	defer p.Kill()
	return p.Info, loc, nil
}

// writeSettings prints a plugin's kinds, version and settings as a table.
func writeSettings(w io.Writer, info host.Info, loc host.Location) {
	fmt.Fprintf(w, "%s %s: %s (%s)\n", info.Name, info.Version, strings.Join(info.Kinds, ", "), loc.Where())
	if len(info.Settings) == 0 {
		fmt.Fprintln(w, "\nThe plugin describes no settings.")
		return
	}
	fmt.Fprintln(w, "\nSettings (its config: block):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tDEFAULT\tREQUIRED\tDOC")
	for _, s := range info.Settings {
		def, req := s.Default, "no"
		if def == "" {
			def = "-"
		}
		if s.Required {
			req = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Type, def, req, settingDoc(s, func(v string) string { return v }))
	}
	tw.Flush()
}

// settingDoc is a setting's doc with its allowed values, each written by
// quote.
func settingDoc(s plugin.Setting, quote func(string) string) string {
	doc := s.Doc
	if len(s.Allowed) > 0 {
		vals := make([]string, len(s.Allowed))
		for i, a := range s.Allowed {
			vals[i] = quote(a)
		}
		doc = strings.TrimSpace(doc + " One of " + strings.Join(vals, ", ") + ".")
	}
	return doc
}

// settingsMarkdown is a plugin's settings as the README's Markdown table.
func settingsMarkdown(info host.Info) string {
	var b strings.Builder
	code := func(v string) string { return "`" + v + "`" }
	cell := func(v string) string { return strings.ReplaceAll(v, "|", `\|`) }
	b.WriteString("| setting | type | default | required | description |\n|---|---|---|---|---|\n")
	for _, s := range info.Settings {
		def, req := "", ""
		if s.Default != "" {
			def = code(s.Default)
		}
		if s.Required {
			req = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(s.Name), s.Type, cell(def), req, cell(settingDoc(s, code)))
	}
	return b.String()
}

// sectionRE finds a generated section of a Markdown file:
// <!-- settings:NAME --> ... <!-- /settings:NAME -->.
var sectionRE = regexp.MustCompile(`(?s)(<!-- settings:([a-z0-9_-]+) -->\n).*?(<!-- /settings:([a-z0-9_-]+) -->)`)

// regenerateCommand is what rewrites the README's settings tables.
const regenerateCommand = "go run ./cmd/etl plugins --readme README.md"

// withSettingsTables returns doc with every settings section holding the
// table its plugin describes, asking describe for each plugin.
func withSettingsTables(doc string, describe func(name string) (host.Info, error)) (string, error) {
	var errs []string
	out := sectionRE.ReplaceAllStringFunc(doc, func(section string) string {
		m := sectionRE.FindStringSubmatch(section)
		if m[2] != m[4] {
			errs = append(errs, fmt.Sprintf("section settings:%s ends with /settings:%s", m[2], m[4]))
			return section
		}
		info, err := describe(m[2])
		if err != nil {
			errs = append(errs, fmt.Sprintf("section settings:%s: %v", m[2], err))
			return section
		}
		return m[1] + settingsMarkdown(info) + m[3]
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// rewriteReadme rewrites the settings sections of the Markdown file path.
func rewriteReadme(h *host.Host, path string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := withSettingsTables(string(doc), func(name string) (host.Info, error) {
		info, _, err := describePlugin(h, name)
		return info, err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if out == string(doc) {
		return nil
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// settingsSample is an example config: block made from a plugin's
// settings: each key under its doc, required ones set to a placeholder,
// the others commented out at their defaults.
func settingsSample(info host.Info) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s: the settings of its config: block. Required keys are set to a\n# placeholder; the others are commented out at their defaults.\n", info.Name, info.Version)
	writeSample(&b, info.Settings, "", "", false)
	return b.String()
}

// writeSample writes the settings directly under prefix (a key path such
// as "retry." or "fields[]."), indented by indent; commented says the
// parent is commented out, and so is everything under it.
func writeSample(b *strings.Builder, settings []plugin.Setting, prefix, indent string, commented bool) {
	for _, s := range settings {
		key, ok := strings.CutPrefix(s.Name, prefix)
		if !ok || strings.ContainsAny(key, ".[") {
			continue
		}
		off := commented || !s.Required
		hash := ""
		if off {
			hash = "# "
		}
		doc := settingDoc(s, func(v string) string { return v })
		if s.Required {
			doc += " (required)"
		}
		fmt.Fprintf(b, "%s# %s\n", indent, doc)
		switch {
		case s.Type == plugin.TypeObject:
			fmt.Fprintf(b, "%s%s%s:\n", indent, hash, key)
			writeSample(b, settings, s.Name+".", indent+"  ", off)
		case s.Type == plugin.TypeList && hasChildren(settings, s.Name+"[]."):
			fmt.Fprintf(b, "%s%s%s:\n%s  %s- # one element of %s\n", indent, hash, key, indent, hash, key)
			writeSample(b, settings, s.Name+"[].", indent+"    ", off)
		default:
			fmt.Fprintf(b, "%s%s%s: %s\n", indent, hash, key, sampleValue(s))
		}
	}
}

func hasChildren(settings []plugin.Setting, prefix string) bool {
	for _, s := range settings {
		if strings.HasPrefix(s.Name, prefix) {
			return true
		}
	}
	return false
}

// sampleValue is a setting's default, or a placeholder of its type.
func sampleValue(s plugin.Setting) string {
	if s.Default != "" {
		return s.Default
	}
	switch s.Type {
	case plugin.TypeInt, plugin.TypeSize, plugin.TypeFloat:
		return "0"
	case plugin.TypeBool:
		return "false"
	case plugin.TypeDuration:
		return "0s"
	case plugin.TypeList:
		return "[]"
	case plugin.TypeMap:
		return "{}"
	}
	return `""`
}
