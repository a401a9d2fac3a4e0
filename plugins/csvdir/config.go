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

// Config is the source's `config:` block.
type Config struct {
	// Path is the folder watched for CSV files (required).
	Path string `yaml:"path"`
	// Pattern is the glob (path.Match syntax) a file name must match to be
	// read (default "*.csv"). Names starting with '.' or ending in .tmp or
	// .part are never read, whatever the pattern: producers write them and
	// then rename them in.
	Pattern string `yaml:"pattern"`
	// Header says the first line of each file names its columns (default
	// true).
	Header bool `yaml:"header"`
	// Columns are the field names. With Header true they are optional
	// (learnt from the header of the oldest file otherwise) and each
	// file's header is checked against them, in any order; with Header
	// false they are required and taken in order.
	Columns []string `yaml:"columns"`
	// Delimiter separates fields: one character, default ",".
	Delimiter string `yaml:"delimiter"`
	// PollInterval is how often the folder is listed while waiting for
	// files, as a Go duration (default "250ms").
	PollInterval string `yaml:"poll_interval"`
	// MaxFilesPerBatch bounds the number of files one batch touches
	// (default 0: no bound).
	MaxFilesPerBatch int `yaml:"max_files_per_batch"`
	// Interleave is how many files are read at once, a batch from each in
	// turn (default 1: one file after the other). Batches of different
	// files can be committed side by side by parallel writers
	// (engine.writers), while the batches of one file are committed in
	// order, one after the other.
	Interleave int `yaml:"interleave"`
	// MaxLineBytes bounds one line without its line end (default 1 MiB);
	// a longer line is rejected with its first MaxLineBytes bytes (up to
	// three fewer, so as not to cut a UTF-8 character in two).
	MaxLineBytes int `yaml:"max_line_bytes"`
	// AfterRead says what happens to a file once its last rows are
	// committed: keep (default), archive (move into ArchivePath) or delete.
	AfterRead string `yaml:"after_read"`
	// ArchivePath is the folder finished files move to with after_read
	// archive; it is created when missing.
	ArchivePath string `yaml:"archive_path"`
	// Create makes a missing Path instead of refusing it (default false).
	Create bool `yaml:"create"`
	// Duplicates says what happens to a file holding byte for byte the
	// same as one already loaded (or being loaded), under the same or
	// another name: skip (default: logged at WARN with both names, not
	// loaded, archived with ".duplicate" before its extension or deleted
	// as after_read says) or load (loaded again).
	Duplicates string `yaml:"duplicates"`
	// QuarantinePath is the folder a file moves to when it changes under
	// the source: it shrank, or bytes already read changed. Default: the
	// folder "quarantine" beside Path (data/quarantine for data/events).
	QuarantinePath string `yaml:"quarantine_path"`
	// FollowSymlinks reads files that symbolic links in Path point to
	// (default false: a link is logged at WARN once and left alone).
	FollowSymlinks bool `yaml:"follow_symlinks"`
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
		PollInterval: DefaultPollInterval.String(),
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
		maxLineBytes: c.MaxLineBytes,
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

	if d, err := time.ParseDuration(c.PollInterval); err != nil {
		errs.Add("poll_interval", "%q is not a duration (e.g. \"250ms\", \"2s\")", c.PollInterval)
	} else if d <= 0 {
		errs.Add("poll_interval", "must be > 0")
	} else {
		s.poll = d
	}

	if c.Interleave < 0 || c.Interleave > maxInterleave {
		errs.Add("interleave", "must be between 1 and %d", maxInterleave)
	}
	if c.MaxFilesPerBatch < 0 {
		errs.Add("max_files_per_batch", "must be >= 0 (0: no bound)")
	}
	if c.MaxLineBytes <= 0 {
		errs.Add("max_line_bytes", "must be > 0 (default %d)", DefaultMaxLineBytes)
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
