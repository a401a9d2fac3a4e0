package csvdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seed-etl/etl/core/plugin"
)

// Config is the source's `config:` block. The tags describe each key once
// (see plugin.SettingsOf): `etl plugins csvdir` and the README show them.
type Config struct {
	Path             string          `yaml:"path" required:"true" doc:"The folder watched for CSV files."`
	Pattern          string          `yaml:"pattern" doc:"The glob (path.Match syntax) a file name must match to be read. Names starting with '.' or ending in .tmp or .part are never read: producers write them, then rename them in."`
	Header           bool            `yaml:"header" doc:"The first line of each file names its columns; they are checked against columns, in any order."`
	Columns          []string        `yaml:"columns" doc:"The field names. Optional with a header (learnt from the oldest file's header otherwise), required without one, in file order."`
	Delimiter        string          `yaml:"delimiter" doc:"The one ASCII character that separates fields."`
	PollInterval     plugin.Duration `yaml:"poll_interval" doc:"How often the folder is listed while waiting for files. On Linux a file closed or moved into the folder is also seen at once (inotify); the poll finds the rest, e.g. files written from another machine."`
	MaxFilesPerBatch int             `yaml:"max_files_per_batch" default:"0" doc:"The most files one batch touches; 0: no bound."`
	Interleave       int             `yaml:"interleave" default:"1" doc:"How many files are read at once, a batch from each in turn, so that parallel writers (engine.writers) commit them side by side; the batches of one file are committed in order."`
	// MaxLineBytes: a longer line is rejected with its first MaxLineBytes
	// bytes (up to three fewer, so as not to cut a UTF-8 character).
	MaxLineBytes plugin.Size `yaml:"max_line_bytes" doc:"The longest line, without its line end; a longer one is rejected with its first max_line_bytes bytes."`
	AfterRead    string      `yaml:"after_read" allowed:"keep,archive,delete" doc:"What happens to a file once its last rows are committed: kept, moved into archive_path, or deleted."`
	ArchivePath  string      `yaml:"archive_path" doc:"The folder finished files move to with after_read: archive; created when missing."`
	Create       bool        `yaml:"create" doc:"Create a missing path instead of refusing it."`
	// Duplicates: a skipped duplicate is logged at WARN with both names,
	// not loaded, and archived with ".duplicate" before its extension or
	// deleted as after_read says.
	Duplicates     string `yaml:"duplicates" allowed:"skip,load" doc:"What happens to a file holding byte for byte what another file already loaded (or being loaded) holds: skip (logged, not loaded) or load again."`
	QuarantinePath string `yaml:"quarantine_path" doc:"The folder a file moves to when it changes under the source: it shrank, or bytes already read changed. When not set, the folder quarantine beside path."`
	FollowSymlinks bool   `yaml:"follow_symlinks" doc:"Read the files that symbolic links in path point to; otherwise a link is logged at WARN once and left alone."`
}

// The values of Config.Duplicates.
const (
	DuplicatesSkip = "skip"
	DuplicatesLoad = "load"
)

// The values of Config.AfterRead.
const (
	AfterReadKeep    = "keep"
	AfterReadArchive = "archive"
	AfterReadDelete  = "delete"
)

// Defaults of Config.
const (
	DefaultPattern      = "*.csv"
	DefaultDelimiter    = ","
	DefaultPollInterval = 250 * time.Millisecond
	DefaultMaxLineBytes = 1 << 20
)

// settings is a checked Config in the form the source uses.
// maxInterleave bounds interleave: each file read at once holds a file
// descriptor and a read buffer.
const maxInterleave = 64

type settings struct {
	dir          string
	pattern      string
	header       bool
	columns      []string
	delim        byte
	poll         time.Duration
	maxFiles     int
	interleave   int
	maxLineBytes int
	afterRead    string
	archiveDir   string
	create       bool

	duplicates     string
	quarantineDir  string
	followSymlinks bool
}

// defaultConfig returns a Config holding every default.
func defaultConfig() Config {
	return Config{
		Pattern:      DefaultPattern,
		Header:       true,
		Delimiter:    DefaultDelimiter,
		PollInterval: plugin.Duration(DefaultPollInterval),
		MaxLineBytes: DefaultMaxLineBytes,
		AfterRead:    AfterReadKeep,
		Duplicates:   DuplicatesSkip,
	}
}

// parseConfig decodes raw and checks every key, returning all mistakes
// together as plugin.ConfigErrors. It does not learn columns from a header;
// see Source.Configure.
func parseConfig(raw []byte) (settings, plugin.ConfigErrors) {
	c := defaultConfig()
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(raw, &c))
	s := settings{
		pattern:      c.Pattern,
		header:       c.Header,
		columns:      c.Columns,
		maxFiles:     c.MaxFilesPerBatch,
		interleave:   max(c.Interleave, 1),
		maxLineBytes: int(c.MaxLineBytes),
		afterRead:    c.AfterRead,
		create:       c.Create,

		duplicates:     c.Duplicates,
		followSymlinks: c.FollowSymlinks,
	}

	if c.Path == "" {
		errs.Add("path", "required: the folder to watch for CSV files")
	} else {
		s.dir = filepath.Clean(c.Path)
		fi, err := os.Stat(s.dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !c.Create {
				errs.Add("path", "folder %s does not exist (create it, or set create: true)", s.dir)
			}
		case err != nil:
			errs.Add("path", "%v", err)
		case !fi.IsDir():
			errs.Add("path", "%s is not a folder", s.dir)
		default:
			if _, err := os.ReadDir(s.dir); err != nil {
				errs.Add("path", "cannot list the folder: %v", err)
			}
		}
	}

	if c.Pattern == "" {
		errs.Add("pattern", "must not be empty (default %q)", DefaultPattern)
	} else if _, err := filepath.Match(c.Pattern, "x"); err != nil || strings.ContainsRune(c.Pattern, filepath.Separator) {
		errs.Add("pattern", "%q is not a glob of file names (e.g. \"events-*.csv\")", c.Pattern)
	}

	if len(c.Delimiter) != 1 || c.Delimiter[0] == '"' || c.Delimiter[0] == '\n' || c.Delimiter[0] == '\r' || c.Delimiter[0] >= 0x80 {
		errs.Add("delimiter", "%q must be one ASCII character other than a quote or a line end", c.Delimiter)
	} else {
		s.delim = c.Delimiter[0]
	}

	if c.PollInterval <= 0 {
		errs.Add("poll_interval", "must be > 0")
	} else {
		s.poll = time.Duration(c.PollInterval)
	}

	if c.Interleave < 0 || c.Interleave > maxInterleave {
		errs.Add("interleave", "must be between 1 and %d", maxInterleave)
	}
	if c.MaxFilesPerBatch < 0 {
		errs.Add("max_files_per_batch", "must be >= 0 (0: no bound)")
	}
	if c.MaxLineBytes <= 0 {
		errs.Add("max_line_bytes", "must be > 0 (default %s)", plugin.Size(DefaultMaxLineBytes))
	}

	seen := map[string]int{}
	for i, name := range c.Columns {
		path := fmt.Sprintf("columns[%d]", i)
		if name == "" {
			errs.Add(path, "empty column name")
			continue
		}
		if j, dup := seen[name]; dup {
			errs.Add(path, "column %q is also columns[%d]", name, j)
			continue
		}
		seen[name] = i
	}
	if !c.Header && len(c.Columns) == 0 {
		errs.Add("columns", "required when header is false: list the field names in file order")
	}

	switch c.AfterRead {
	case AfterReadKeep, AfterReadDelete:
		if c.ArchivePath != "" {
			errs.Add("archive_path", "only used with after_read: archive")
		}
	case AfterReadArchive:
		if c.ArchivePath == "" {
			errs.Add("archive_path", "required with after_read: archive")
		} else {
			s.archiveDir = filepath.Clean(c.ArchivePath)
			if s.dir != "" && sameFolder(s.dir, s.archiveDir) {
				errs.Add("archive_path", "must be another folder than path")
			} else if fi, err := os.Stat(s.archiveDir); err == nil && !fi.IsDir() {
				errs.Add("archive_path", "%s is not a folder", s.archiveDir)
			}
		}
	default:
		errs.Add("after_read", "%q is not one of keep, archive, delete", c.AfterRead)
	}

	if c.Duplicates != DuplicatesSkip && c.Duplicates != DuplicatesLoad {
		errs.Add("duplicates", "%q is not one of skip, load", c.Duplicates)
	}
	switch {
	case c.QuarantinePath != "":
		s.quarantineDir = filepath.Clean(c.QuarantinePath)
	case s.dir != "":
		s.quarantineDir = filepath.Join(filepath.Dir(s.dir), "quarantine")
	}
	if s.quarantineDir != "" && s.dir != "" {
		if sameFolder(s.dir, s.quarantineDir) {
			errs.Add("quarantine_path", "must be another folder than path")
		} else if fi, err := os.Stat(s.quarantineDir); err == nil && !fi.IsDir() {
			errs.Add("quarantine_path", "%s is not a folder", s.quarantineDir)
		}
	}
	return s, errs
}

// sameFolder reports whether a and b name the same folder.
func sameFolder(a, b string) bool {
	if fa, err := os.Stat(a); err == nil {
		if fb, err := os.Stat(b); err == nil {
			return os.SameFile(fa, fb)
		}
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
