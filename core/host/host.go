// Package host finds plugins and runs each as a child process that the
// engine talks to over gRPC: the plugins bundled in the etl binary, served
// by re-executing it, and external `etl-plugin-NAME` executables.
package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/seed-etl/etl/core/plugin"
)

// ExternalPrefix starts the file name of every external plugin executable.
const ExternalPrefix = "etl-plugin-"

// BundledEnv names the environment variable under which the etl binary,
// re-executed by the host, serves one of its bundled plugins.
const BundledEnv = "ETL_BUNDLED_PLUGIN"

// PathEnv is the environment variable with extra plugin folders,
// separated by the system's list separator (':').
const PathEnv = "ETL_PLUGIN_PATH"

// DefaultDir is the plugin folder etl looks for in the pipeline file's
// repository and beside its own install (see SearchPath); it is never
// taken from the working directory.
const DefaultDir = "plugins/bin"

// Host knows where plugins are and starts them.
type Host struct {
	// Bundled are the plugins compiled into this binary, by name.
	Bundled map[string]plugin.Plugin
	// Dirs are the folders searched for external plugins, in order.
	Dirs []string
}

// SearchDir is one folder of the plugin path and why it is on it.
type SearchDir struct {
	Path string
	// Why says where the folder comes from, e.g. "--plugin-dir".
	Why string
}

// SearchPath returns the plugin path, in order:
//
//  1. the given folders (the --plugin-dir flags);
//  2. those of ETL_PLUGIN_PATH;
//  3. the pipeline's repository: from the folder holding pipelineFile
//     upward, the first folder with a plugins/bin folder, not going above
//     the repository root (the first folder holding go.mod or .git);
//     none when pipelineFile is "";
//  4. etl's install: plugins/bin beside the folder of the etl executable
//     (bin/etl -> plugins/bin).
//
// Relative folders are made absolute from the working directory.
func SearchPath(flagDirs []string, pipelineFile string) []SearchDir {
	var dirs []SearchDir
	add := func(d, why string) {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		for _, have := range dirs {
			if have.Path == d {
				return
			}
		}
		dirs = append(dirs, SearchDir{Path: d, Why: why})
	}
	for _, d := range flagDirs {
		add(d, "--plugin-dir")
	}
	if env := os.Getenv(PathEnv); env != "" {
		for _, d := range filepath.SplitList(env) {
			if d != "" {
				add(d, "$"+PathEnv)
			}
		}
	}
	if pipelineFile != "" {
		if d, why := repositoryDir(pipelineFile); d != "" {
			add(d, why)
		}
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		add(filepath.Join(filepath.Dir(filepath.Dir(exe)), DefaultDir), "beside etl's install, "+exe)
	}
	return dirs
}

// Paths returns the folders of dirs.
func Paths(dirs []SearchDir) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = d.Path
	}
	return out
}

// repositoryDir returns the plugins/bin of the pipeline file's repository
// (see SearchPath) and why, or "".
func repositoryDir(pipelineFile string) (string, string) {
	abs, err := filepath.Abs(pipelineFile)
	if err != nil {
		return "", ""
	}
	dir := filepath.Dir(abs)
	for {
		cand := filepath.Join(dir, DefaultDir)
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, "the pipeline's repository, " + dir
		}
		for _, marker := range []string{"go.mod", ".git"} {
			if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
				// The repository's root has no plugins/bin: name where it
				// would be, so that `etl plugins` says where to build them.
				return cand, "the pipeline's repository, " + dir + " (holds " + marker + ")"
			}
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", ""
		}
		dir = up
	}
}

// SearchDirs returns the folders of SearchPath(flagDirs, "").
func SearchDirs(flagDirs []string) []string { return Paths(SearchPath(flagDirs, "")) }

// ServeBundled serves the bundled plugin named in BundledEnv, if any, and
// reports whether it did. Call it first thing in main: when it returns
// true the process was a plugin and should exit.
func ServeBundled(bundled map[string]plugin.Plugin) bool {
	name := os.Getenv(BundledEnv)
	if name == "" {
		return false
	}
	p, ok := bundled[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "etl: no bundled plugin %q\n", name)
		os.Exit(2)
	}
	plugin.Serve(p)
	return true
}

// Ref is how a pipeline names a plugin: by name, or by an explicit path to
// an executable.
type Ref struct {
	Name string
	Path string
	// Env names the variables of etl's environment that the plugin gets
	// beyond the allowlist (the step's `env:` key); see Environment.
	Env []string
}

// Location is where a plugin was found.
type Location struct {
	Name string
	// Path is the executable; for a bundled plugin, the etl binary.
	Path string
	// Bundled says the plugin is compiled into etl.
	Bundled bool
	// Refused, set by All, says why etl will not start the executable
	// (a *RefusedError); such a plugin is listed, never started.
	Refused error
}

// Where describes the location for people: "bundled" or the path.
func (l Location) Where() string {
	if l.Bundled {
		return "bundled"
	}
	return l.Path
}

// ErrNotFound is wrapped by Find's error for a plugin that is nowhere.
var ErrNotFound = errors.New("plugin not found")

// Find locates the plugin ref names. An explicit path wins; then a bundled
// plugin of that name; then etl-plugin-NAME in the search folders. An
// external executable that CheckTrusted refuses is an error, never
// skipped for one further down the path.
func (h *Host) Find(ref Ref) (Location, error) {
	if ref.Path != "" {
		st, err := os.Stat(ref.Path)
		if err != nil {
			return Location{}, fmt.Errorf("plugin %q: %w", ref.Path, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return Location{}, fmt.Errorf("plugin %q: not an executable file", ref.Path)
		}
		if err := CheckTrusted(ref.Path); err != nil {
			return Location{}, err
		}
		name := ref.Name
		if name == "" {
			name = strings.TrimPrefix(filepath.Base(ref.Path), ExternalPrefix)
		}
		return Location{Name: name, Path: ref.Path}, nil
	}
	if _, ok := h.Bundled[ref.Name]; ok {
		exe, err := os.Executable()
		if err != nil {
			return Location{}, fmt.Errorf("plugin %q: find the etl binary: %w", ref.Name, err)
		}
		return Location{Name: ref.Name, Path: exe, Bundled: true}, nil
	}
	for _, dir := range h.Dirs {
		p := filepath.Join(dir, ExternalPrefix+ref.Name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			if err := CheckTrusted(p); err != nil {
				return Location{}, err
			}
			return Location{Name: ref.Name, Path: p}, nil
		}
	}
	hint := ""
	if near := nearest(ref.Name, h.bundledNames()); near != "" {
		hint = fmt.Sprintf("; did you mean %s?", near)
	}
	return Location{}, fmt.Errorf("%w: %q is not bundled (have %s) and there is no %s%s in %s%s",
		ErrNotFound, ref.Name, strings.Join(h.bundledNames(), ", "), ExternalPrefix, ref.Name, strings.Join(h.Dirs, ", "), hint)
}

// nearest returns the name of names within two edits of name (a typo),
// or "".
func nearest(name string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (h *Host) bundledNames() []string {
	names := make([]string, 0, len(h.Bundled))
	for n := range h.Bundled {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All returns every plugin the host can find: the bundled ones, then the
// external ones of each search folder (a name found twice is listed where
// Find would take it from). An executable CheckTrusted refuses is listed
// with Refused set.
func (h *Host) All() ([]Location, error) {
	var out []Location
	seen := map[string]bool{}
	exe, _ := os.Executable()
	for _, n := range h.bundledNames() {
		out = append(out, Location{Name: n, Path: exe, Bundled: true})
		seen[n] = true
	}
	for _, dir := range h.Dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("list plugins in %s: %w", dir, err)
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), ExternalPrefix)
			if !ok || e.IsDir() || seen[name] {
				continue
			}
			seen[name] = true
			loc := Location{Name: name, Path: filepath.Join(dir, e.Name())}
			loc.Refused = CheckTrusted(loc.Path)
			out = append(out, loc)
		}
	}
	return out, nil
}
