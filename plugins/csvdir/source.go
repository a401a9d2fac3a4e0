// Package csvdir is the CSV-folder source: it watches a folder and reads
// every complete CSV file that appears in it exactly once, as a stream of
// batches of text fields.
//
// Producers write a file under a temporary name (starting with '.' or
// ending in .tmp or .part, never read whatever the pattern) and rename it
// into place. So a file is whole when it appears, and its last line counts
// even without a line end.
//
// Each file is a partition, named by what it holds (see identity.go): its
// name, its size when first seen and a SHA-256 fingerprint of those bytes.
// Its position is the byte offset after the last line read, and Done once
// the file is read to its end. Reading resumes at exactly the next line
// after a restart, also in the middle of a file. Files are streamed
// through one buffer, so memory stays flat whatever their size: a batch
// holds at most MaxRows rows or about MaxBytes bytes, and nothing else
// grows with a file.
//
// Producers should still rename files into place, but the source holds
// when they do not:
//   - A file under the name of one already read, with other bytes, is a
//     new file, whatever its size and modification time.
//   - A file that grows (while or after it is read) is read on from its
//     offset: the new lines once, after the rest.
//   - A file that shrinks, or whose bytes already read change, is never
//     read again from its start: reading it stops, an ERROR names it, it
//     is counted (Backlog.Quarantined) and moved to quarantine_path. What
//     was committed stays.
//   - A file byte for byte the same as one loaded or being loaded, under
//     the same or another name, is skipped with a WARN naming both and
//     archived with ".duplicate" before its extension (duplicates: skip,
//     the default), or loaded again (duplicates: load).
//   - Symbolic links are left alone, with a WARN once each, unless
//     follow_symlinks is true.
//
// Every physical line is one record (a quoted field cannot hold a line
// end), ended by "\n" or "\r\n"; empty lines are
// skipped, a UTF-8 byte order mark is dropped. A line that is not
// well-formed CSV (wrong field count, an unterminated or stray quote,
// invalid UTF-8, longer than max_line_bytes) becomes a reject of type
// CSV_PARSE_ERROR, with the line's text (its first max_line_bytes bytes
// when longer) and a reason; it never stops the pipeline. Fields leave as
// text, unquoted but not trimmed; typing them is a transform's job.
//
// With header true, the first non-empty line of each file names its
// columns, and the file's fields are taken by those names, in any order.
// A header that does not name exactly the columns (given in columns, or
// learnt from the oldest file's header) makes every line of the file, the
// header included, a CSV_PARSE_ERROR reject whose reason tells what is
// missing or unexpected: the pipeline goes on, nothing is lost (the raw
// lines are kept for a replay) and the file is done.
//
// With after_read archive or delete, a file is moved or deleted only once
// the sink has committed its last rows (the Ack of its Done position). After
// a crash between that commit and the move, the next Open skips the file,
// whose position is Done, and moves or deletes it without reading it. A move
// or deletion that fails is logged and tried again at every later poll.
//
// A file that cannot be opened or read (e.g. no read permission) is logged
// at WARN and skipped; it is never marked done, archived or deleted, and
// it is tried again at every later poll, from where it stopped, until it can
// be read. Meanwhile the other files go on, a Read reports CaughtUp when
// only such files are left, and Backlog.Unreadable names them.
package csvdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Plugin is the csvdir source as the etl engine loads it.
var Plugin = plugin.Plugin{Name: "csvdir", Version: "0.1.0", Settings: plugin.MustSettingsOf(defaultConfig()), Source: func() plugin.Source { return New() }}

var _ plugin.BacklogReporter = (*Source)(nil)

// ErrorType is the error type of the rejects of malformed lines.
const ErrorType = "CSV_PARSE_ERROR"

// Defaults of a ReadRequest whose fields are not set.
const (
	defaultMaxRows  = 10000
	defaultMaxBytes = 4 << 20
)

// ctxCheckLines is how many lines go by between two looks at the context
// and the clock while reading a file.
const ctxCheckLines = 1024

var utf8BOM = []byte("\xef\xbb\xbf")

// fileState is where a partition stands.
type fileState uint8

const (
	stateNone      fileState = iota
	stateQueued              // found, waiting in the queue or being read
	stateRead                // read to its end, not yet known to be committed
	stateCommitted           // read to its end and committed
)

// Source is the csvdir source. Create it with New; it implements
// plugin.Source. Its methods are safe for concurrent use, though the engine
// never calls them concurrently.
type Source struct {
	mu     sync.Mutex
	log    *slog.Logger
	open   func(name string) (*os.File, error)
	set    settings
	cols   []string
	schema record.Schema
	opened bool

	files    map[string]fileState // by partition
	resume   map[string]int64     // start offsets of partitions read in part
	finished map[string]file      // stateRead files awaiting their Ack, when after_read is not keep
	problems map[string]string    // last problem logged per file, so that each is logged once

	parts      *partitions       // every partition known: stored positions and those seen since
	ids        map[string]file   // by name: the files of the folder as last identified
	holders    map[string]string // partition -> the name of the file of the folder holding it
	takenBy    map[string]file   // partition -> the file that took it first in this process
	doneAt     map[string]int64  // partition -> the offset of its last Done position
	ignored    map[string]file   // by name: duplicates and quarantined files left in place
	parked     map[string]string // hidden path -> name: changed files waiting to move to quarantine
	unreadable map[string]string // by name: files that cannot be read now, and why
	closing    []record.Position // Done positions of quarantined partitions, for the next batch
	quarantine int64             // files quarantined since Open
	fpBuf      []byte            // the buffer files are fingerprinted with
	queue      []file            // found, not yet opened, oldest first
	active     []*openFile       // the files being read, at most interleave
	next       int               // the index in active of the file the next batch starts with
	lastScan   time.Time
	arrivals   *arrivals // wakes Read when a file arrives; nil: polling only
	sp         splitter
	hsp        splitter // for headers

	sizes record.Sizes // the last batch's rows and column sizes, to size the next
}

// openFile is a file being read.
type openFile struct {
	file
	f  *os.File
	cr *countingReader // what r has taken from f
	r  *lineReader
	// looked is the file as checkChanged last saw it.
	looked file
	// done says the file was read to its end.
	done bool
	// colIdx gives for each column its field number in this file's lines;
	// nil when they are in the same order.
	colIdx []int
	// mismatch says why this file's header does not fit the columns; when
	// set, every line of the file is rejected with it.
	mismatch string
	// headerReject is the reject of the header line of a mismatching file,
	// to be delivered before the file's other lines.
	headerReject *record.Reject
}

// New returns an unconfigured source.
func New() *Source {
	return &Source{
		log:      plugin.Logger("csvdir"),
		open:     os.Open,
		files:    map[string]fileState{},
		resume:   map[string]int64{},
		finished: map[string]file{},
		problems: map[string]string{},

		ids:        map[string]file{},
		holders:    map[string]string{},
		takenBy:    map[string]file{},
		doneAt:     map[string]int64{},
		ignored:    map[string]file{},
		parked:     map[string]string{},
		unreadable: map[string]string{},
	}
}

// Configure checks the configuration and returns the schema: one String
// field per column. With header true and no columns, the columns are
// learnt from the header of the oldest matching file in the folder.
func (s *Source) Configure(_ context.Context, cfg plugin.Config) (record.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, errs := parseConfig(cfg.Raw)
	if len(set.columns) == 0 && set.header && canLearn(errs) {
		cols, err := s.learnColumns(&set)
		if err != nil {
			errs.Add("columns", "%v", err)
		}
		set.columns = cols
	}
	fields := make([]record.Field, len(set.columns))
	for i, c := range set.columns {
		fields[i] = record.Field{Name: c, Type: record.String}
	}
	if err := errs.Err(); err != nil {
		// The columns known still go back, so that the steps after the
		// source are checked in the same run.
		return record.Schema{Fields: fields}, err
	}
	s.set = set
	s.cols = set.columns
	s.sp.delim, s.hsp.delim = set.delim, set.delim
	s.schema = record.Schema{Fields: fields}
	return s.schema, nil
}

// canLearn reports whether the settings a header is read with are sound.
func canLearn(errs plugin.ConfigErrors) bool {
	for _, e := range errs {
		switch e.Path {
		case "", "path", "pattern", "delimiter", "max_line_bytes", "header":
			return false
		}
	}
	return true
}

// learnColumns reads the header of the oldest matching file that has one.
func (s *Source) learnColumns(set *settings) ([]string, error) {
	files, _, err := set.listFiles()
	if err != nil && !(set.create && errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	sp := splitter{delim: set.delim}
	var skipped []string
	for _, f := range files {
		h, err := s.readHeader(f, set.maxLineBytes)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		if h == nil {
			continue // empty file
		}
		names, problem := headerNames(&sp, h)
		if problem != "" {
			return nil, fmt.Errorf("cannot learn the columns from the header of %s, the oldest file: %s; list them in columns", f.path, problem)
		}
		seen := map[string]int{}
		for i, n := range names {
			if n == "" {
				return nil, fmt.Errorf("the header of %s, the oldest file, names no column %d; list the columns in columns", f.path, i+1)
			}
			if j, dup := seen[n]; dup {
				return nil, fmt.Errorf("the header of %s, the oldest file, names %q twice (columns %d and %d); list the columns in columns", f.path, n, j+1, i+1)
			}
			seen[n] = i
		}
		return names, nil
	}
	msg := fmt.Sprintf("header is true but %s holds no file matching %q with a header to learn the columns from; list them in columns", set.dir, set.pattern)
	if len(skipped) > 0 {
		msg += " (unreadable: " + strings.Join(skipped, "; ") + ")"
	}
	return nil, errors.New(msg)
}

// readHeader returns a copy of the first non-empty line of f, or nil when
// it has none.
func (s *Source) readHeader(f file, maxLine int) ([]byte, error) {
	fh, err := s.open(f.path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := newLineReader(fh, maxLine)
	for {
		line, tooLong, _, err := r.next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.path, err)
		}
		if tooLong {
			return nil, fmt.Errorf("read %s: its header line is longer than max_line_bytes", f.path)
		}
		if r.lines == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) > 0 {
			return bytes.Clone(line), nil
		}
	}
}

// headerNames splits a header line into column names, trimmed of spaces.
func headerNames(sp *splitter, line []byte) ([]string, string) {
	fields, problem := sp.split(line)
	if problem != "" {
		return nil, problem
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = strings.TrimSpace(string(f))
	}
	return names, ""
}

// Open starts reading after positions: files whose position is Done are
// never read again (and, with after_read archive or delete, archived or
// deleted now if they are still there: their rows are committed), files
// read in part go on at their offset, all others are read from their start.
// With create true a missing folder is created.
func (s *Source) Open(_ context.Context, positions []record.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set.dir == "" {
		return errors.New("csvdir: Open before Configure")
	}
	if s.opened {
		return errors.New("csvdir: opened twice")
	}
	if s.set.create {
		if err := os.MkdirAll(s.set.dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", s.set.dir, err)
		}
	}
	if fi, err := os.Stat(s.set.dir); err != nil {
		return fmt.Errorf("open folder: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("open folder: %s is not a folder", s.set.dir)
	}
	if s.set.afterRead == AfterReadArchive {
		if err := os.MkdirAll(s.set.archiveDir, 0o755); err != nil {
			return fmt.Errorf("create archive folder %s: %w", s.set.archiveDir, err)
		}
	}
	s.parts = newPartitions(positions)
	s.parts.filesStay = s.set.afterRead == AfterReadKeep
	s.opened = true
	s.scan()
	if a, err := watchArrivals(s.set.dir); err != nil {
		s.log.Warn("files are found by polling only, every poll_interval", "folder", s.set.dir, "error", err)
	} else {
		s.arrivals = a
	}
	return nil
}

// scan lists the folder: new files are identified (see identity.go) and
// join the queue, oldest first; files whose stat changed are looked at
// again; files whose rows are committed but that are still there (a crash
// between the commit and after_read, or an earlier failure) are archived
// or deleted.
func (s *Source) scan() {
	s.lastScan = time.Now()
	files, links, err := s.set.listFiles()
	if err != nil {
		s.problem(s.set.dir, "cannot list the folder; trying again at the next poll", err)
		return
	}
	s.recovered(s.set.dir)
	s.moveParked()
	for _, l := range links {
		s.problem("link "+l, "symbolic link in the folder left alone (follow_symlinks is false)",
			fmt.Errorf("%s is a symbolic link", filepath.Join(s.set.dir, l)))
	}
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.name] = true
	}
	// Names gone first (renamed away, archived, deleted), so that a file
	// renamed to a new name is not taken for a copy of itself. A file
	// being read stays: the reader holds it open.
	for name, f := range s.ids {
		if present[name] {
			continue
		}
		switch {
		case s.isActive(f.key):
			delete(s.holders, f.key)
		default:
			s.unqueue(f.key)
			s.forget(name)
		}
	}
	for _, f := range files {
		s.look(f)
	}
	for name := range s.ignored {
		if !present[name] {
			delete(s.ignored, name)
		}
	}
	for name := range s.unreadable {
		if !present[name] {
			delete(s.unreadable, name)
			s.recovered(filepath.Join(s.set.dir, name))
		}
	}
}

// look takes note of f, a file of the folder as just listed.
func (s *Source) look(f file) {
	if g, ok := s.ignored[f.name]; ok {
		if g.sameStat(f) {
			s.retryIgnored(g)
			return
		}
		delete(s.ignored, f.name)
	}
	id, ok := s.ids[f.name]
	switch {
	case ok && id.sameStat(f):
		s.place(id)
	case ok && id.sameInode(f):
		// Written to since it was identified: being read, the reader
		// sees to it; otherwise it may have grown, or changed.
		if s.isActive(id.key) {
			return
		}
		s.unqueue(id.key)
		s.identifyFile(f, &id)
	default:
		if ok { // the name now holds another file
			s.unqueue(id.key)
			s.forget(f.name)
		}
		s.identifyFile(f, nil)
	}
}

// identifyFile fingerprints f and places it: as a partition to read (or
// not, when read already), a duplicate or a changed file. was is the file
// (same inode) known under this name before its stat changed, if any.
func (s *Source) identifyFile(f file, was *file) {
	fh, err := s.open(f.path)
	if err != nil {
		s.cannotRead(f, err)
		return
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		s.cannotRead(f, err)
		return
	}
	f = f.withStat(fi)
	sum, prefix, err := fingerprint(fh, f.size, append(s.parts.prefixSizes(f.name, f.size), headBytes), s.fingerprintBuffer())
	if errors.Is(err, errShrunk) {
		return // being written: the next poll looks again
	}
	if err != nil {
		s.cannotRead(f, err)
		return
	}
	if _, ok := s.unreadable[f.name]; ok {
		delete(s.unreadable, f.name)
		s.recovered(f.path)
	}
	f.fpSize, f.fpSum, f.fpHead = f.size, sum, sum
	if h, ok := prefix[headBytes]; ok {
		f.fpHead = h
	}
	rewritten := was != nil
	if rewritten {
		f.key = was.key
	}
	id := s.parts.identify(f, sum, prefix, rewritten, s)
	switch id.verdict {
	case verdictChanged:
		s.quarantineFile(f, id.key, id.reason)
		return
	case verdictDuplicate:
		if s.set.duplicates == DuplicatesSkip {
			s.skipDuplicate(f, id.key)
			return
		}
		id.key = partitionKey(f.name, f.size, sum)
		if _, known := s.parts.pos[id.key]; known {
			id.key = s.parts.newCopy(id.key)
		}
		s.log.Info("file holds the same bytes as one already loaded; loading it again (duplicates: load)", "file", f.path, "same_as", id.key)
	}
	f.key = id.key
	s.parts.add(f.key)
	s.ids[f.name] = f
	s.holders[f.key] = f.name
	if _, ok := s.takenBy[f.key]; !ok {
		s.takenBy[f.key] = f
	}
	s.place(f)
}

// place queues f, an identified file, when it has bytes to read beyond
// its partition's position, and applies after_read when it is read and
// committed.
func (s *Source) place(f file) {
	switch s.files[f.key] {
	case stateQueued:
		return // queued or being read
	case stateNone:
		pos := s.parts.pos[f.key]
		if !pos.Done {
			s.files[f.key] = stateQueued
			if pos.Offset > s.resume[f.key] {
				s.resume[f.key] = pos.Offset
			}
			s.queue = append(s.queue, f)
			return
		}
		s.files[f.key] = stateCommitted
		s.doneAt[f.key] = pos.Offset
	}
	// Read to its end (stateRead or stateCommitted).
	if end := s.doneAt[f.key]; f.size > end {
		// Grown since: the new lines are read after the rest.
		s.files[f.key] = stateQueued
		s.resume[f.key] = end
		delete(s.finished, f.key)
		s.queue = append(s.queue, f)
		s.log.Info("file grew after it was read; reading the new lines", "file", f.path, "from_byte", end, "size", f.size)
		return
	}
	if s.files[f.key] == stateCommitted && s.set.afterRead != AfterReadKeep {
		s.applyAfterRead(f)
	}
}

// holder returns the name of the file of the folder holding partition
// key; it makes Source a seen for identify.
func (s *Source) holder(key string) string { return s.holders[key] }

// otherFile reports whether partition key was taken in this process by a
// file other than f.
func (s *Source) otherFile(key string, f file) bool {
	g, ok := s.takenBy[key]
	return ok && !g.sameInode(f)
}

// progress says how far partition key was read in this process.
func (s *Source) progress(key string) (reading, done bool, offset int64) {
	switch s.files[key] {
	case stateRead, stateCommitted:
		return false, true, s.doneAt[key]
	}
	return s.isActive(key), false, s.resume[key]
}

// forget drops what is known of the file called name, gone from the folder.
func (s *Source) forget(name string) {
	if f, ok := s.ids[name]; ok {
		delete(s.ids, name)
		if s.holders[f.key] == name {
			delete(s.holders, f.key)
		}
	}
}

// isActive reports whether partition key is being read.
func (s *Source) isActive(key string) bool {
	for _, of := range s.active {
		if of.key == key {
			return true
		}
	}
	return false
}

// unqueue takes partition key out of the queue when it waits there, not
// yet opened: its file changed or was replaced before it was read.
func (s *Source) unqueue(key string) {
	for i, f := range s.queue {
		if f.key == key {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			delete(s.files, key)
			return
		}
	}
}

// cannotRead notes that f cannot be read now; it is tried again at every
// poll, and named by Backlog until it can be read or is gone.
func (s *Source) cannotRead(f file, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		return // gone meanwhile
	}
	s.unreadable[f.name] = err.Error()
	s.problem(f.path, "cannot read file; leaving it in place and trying again at every poll", err)
}

// skipDuplicate leaves out f, whose bytes partition other holds already
// (duplicates: skip): it is logged, then archived with a tag or deleted
// as after_read says, or left in place with keep.
func (s *Source) skipDuplicate(f file, other string) {
	otherName := other
	if k, ok := parseKey(other); ok {
		otherName = k.name
	}
	s.log.Warn("file holds the same bytes as one already loaded or being loaded; not loading it (duplicates: skip)",
		"file", f.path, "same_as", filepath.Join(s.set.dir, otherName), "partition", other)
	s.ignored[f.name] = f
	s.retryIgnored(f)
}

// retryIgnored moves an ignored file (a duplicate, or a changed file that
// could not be quarantined) out of the way, logging a failure, which is
// tried again at the next poll.
func (s *Source) retryIgnored(f file) {
	var err error
	switch {
	case f.key != "": // changed: quarantined
		err = s.park(f)
	case s.set.afterRead == AfterReadArchive:
		err = moveInto(f.path, s.set.archiveDir, f.name, "duplicate")
	case s.set.afterRead == AfterReadDelete:
		err = os.Remove(f.path)
	default:
		return // keep: left in place, ignored
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.problem(f.path, "cannot move the file out of the folder; trying again at the next poll", err)
		return
	}
	s.recovered(f.path)
	delete(s.ignored, f.name)
}

// park takes f, changed under the source, out of the reading at once by
// renaming it to a hidden name in the folder (never read, also after a
// restart, when its partition is committed as done), then moves it into
// the quarantine folder; a move that fails is tried again at every poll.
func (s *Source) park(f file) error {
	hidden := filepath.Join(s.set.dir, "."+f.name+".quarantine")
	if err := os.Rename(f.path, hidden); err != nil {
		return err
	}
	s.parked[hidden] = f.name
	s.moveParked()
	return nil
}

// moveParked moves the parked files into the quarantine folder.
func (s *Source) moveParked() {
	for hidden, name := range s.parked {
		err := moveInto(hidden, s.set.quarantineDir, name, "")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.problem(hidden, "cannot move a changed file into quarantine_path; it stays under its hidden name, never read, and is tried again at every poll", err)
			continue
		}
		s.recovered(hidden)
		delete(s.parked, hidden)
	}
}

// quarantineFile moves f, which changed under the source (why says how),
// into the quarantine folder, never to be read again from its start. Its
// partition key is closed where it stands: what was committed stays.
func (s *Source) quarantineFile(f file, key, why string) {
	off := s.parts.pos[key].Offset
	if r, ok := s.resume[key]; ok {
		off = max(off, r)
	}
	if s.files[key] == stateRead || s.files[key] == stateCommitted {
		off = s.doneAt[key]
	} else {
		s.closing = append(s.closing, record.Position{Partition: key, Offset: off, Done: true})
		s.files[key] = stateRead
		s.doneAt[key] = off
	}
	delete(s.resume, key)
	s.setAside(f, key, off, why)
}

// setAside logs f, changed under the source, counts it and moves it into
// the quarantine folder (trying again at later polls when that fails).
func (s *Source) setAside(f file, key string, read int64, why string) {
	s.forget(f.name)
	s.quarantine++
	s.log.Error("file changed while or after being read; quarantined, never read again from its start",
		"file", f.path, "why", why, "bytes_read", read, "quarantine", s.set.quarantineDir, "partition", key)
	f.key = key
	s.ignored[f.name] = f
	s.retryIgnored(f)
}

// applyAfterRead archives or deletes f, logging a failure (it is tried
// again at the next poll). It does nothing when the name holds another
// file now, or f changed since it was read.
func (s *Source) applyAfterRead(f file) {
	cur, ok, _, err := s.set.statFile(f.name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && (!ok || !cur.sameInode(f))) {
		return
	}
	if err == nil && !cur.sameStat(f) {
		s.look(cur) // written to since: grown, or changed
		return
	}
	if err == nil {
		err = s.set.finish(f)
	}
	if err != nil {
		s.problem(f.path, "after_read failed; trying again at the next poll", err)
		return
	}
	s.recovered(f.path)
	s.forget(f.name)
}

// problem logs err about key once, until it changes or is recovered.
func (s *Source) problem(key, msg string, err error) {
	if s.problems[key] == err.Error() {
		return
	}
	s.problems[key] = err.Error()
	s.log.Warn(msg, "file", key, "error", err)
}

// recovered forgets the problem of key, logging that it is gone.
func (s *Source) recovered(key string) {
	if _, ok := s.problems[key]; ok {
		delete(s.problems, key)
		s.log.Info("problem resolved", "file", key)
	}
}

// openNext opens the first queued file. A file that cannot be opened is
// logged and dropped from the queue, to be found again by the next scan;
// a file that vanished is forgotten.
func (s *Source) openNext() {
	f := s.queue[0]
	s.queue = s.queue[1:]
	of, err := s.openAt(f, s.resume[f.key])
	if err != nil {
		delete(s.files, f.key)
		s.forget(f.name)
		if errors.Is(err, errShrunk) {
			s.quarantineFile(f, f.key, "it ended before the position already read")
			return
		}
		s.cannotRead(f, err)
		return
	}
	if _, ok := s.unreadable[f.name]; ok {
		delete(s.unreadable, f.name)
		s.recovered(f.path)
	}
	s.active = append(s.active, of)
}

// openAt opens f and positions it at offset: after its header (read and
// checked first when header is true) and just after the line ending there.
func (s *Source) openAt(f file, offset int64) (*openFile, error) {
	fh, err := s.open(f.path)
	if err != nil {
		return nil, err
	}
	of := &openFile{file: f, f: fh, cr: &countingReader{r: fh}, looked: f}
	of.r = newLineReader(of.cr, s.set.maxLineBytes)
	fail := func(err error) (*openFile, error) {
		fh.Close()
		return nil, err
	}
	if s.set.header {
		for {
			line, tooLong, _, err := of.r.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fail(fmt.Errorf("read the header of %s: %w", f.path, err))
			}
			if of.r.lines == 1 {
				line = bytes.TrimPrefix(line, utf8BOM)
			}
			if len(line) == 0 && !tooLong {
				continue
			}
			s.checkHeader(of, line, tooLong)
			if of.mismatch != "" && offset < of.r.offset {
				of.headerReject = &record.Reject{
					Origin:    record.Origin{Source: f.path, Line: of.r.lines},
					Raw:       string(line),
					ErrorType: ErrorType,
					Reason:    fmt.Sprintf("file %s, line %d: %s", f.path, of.r.lines, of.mismatch),
				}
			}
			break
		}
	}
	if offset > of.r.offset {
		if ok, err := of.r.skipTo(offset); err != nil {
			return fail(fmt.Errorf("resume %s at byte %d: %w", f.path, offset, err))
		} else if !ok {
			return fail(errShrunk)
		}
	}
	return of, nil
}

// checkHeader compares a file's header with the columns, by name.
func (s *Source) checkHeader(of *openFile, line []byte, tooLong bool) {
	if tooLong {
		of.mismatch = fmt.Sprintf("header line longer than max_line_bytes %d", s.set.maxLineBytes)
		return
	}
	names, problem := headerNames(&s.hsp, line)
	if problem != "" {
		of.mismatch = "malformed header: " + problem
		return
	}
	at := make(map[string]int, len(names))
	var missing, unexpected, dups []string
	for i, n := range names {
		if _, dup := at[n]; dup {
			dups = append(dups, fmt.Sprintf("%q", n))
			continue
		}
		at[n] = i
	}
	want := make(map[string]bool, len(s.cols))
	idx := make([]int, len(s.cols))
	identity := len(names) == len(s.cols)
	for c, name := range s.cols {
		want[name] = true
		i, ok := at[name]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", name))
			continue
		}
		idx[c] = i
		identity = identity && i == c
	}
	for _, n := range names {
		if !want[n] {
			unexpected = append(unexpected, fmt.Sprintf("%q", n))
		}
	}
	if len(missing)+len(unexpected)+len(dups) > 0 {
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing "+strings.Join(missing, ", "))
		}
		if len(unexpected) > 0 {
			parts = append(parts, "unexpected "+strings.Join(unexpected, ", "))
		}
		if len(dups) > 0 {
			parts = append(parts, "repeated "+strings.Join(dups, ", "))
		}
		of.mismatch = fmt.Sprintf("header %q does not match the columns %s: %s", line, strings.Join(s.cols, ","), strings.Join(parts, "; "))
		return
	}
	if !identity {
		of.colIdx = idx
	}
}

// batchState is the batch a Read is building.
type batchState struct {
	b           *record.Batch
	rejects     []record.Reject
	rejectBytes int
	items       int // rows and rejects
	firstAt     time.Time
	positions   []record.Position
	touched     map[string]int // partition -> index in positions
	maxRows     int
	maxBytes    int
	wait        time.Duration
}

func (bs *batchState) full() bool {
	return bs.items >= bs.maxRows || bs.b.Size()+bs.rejectBytes >= bs.maxBytes
}

func (bs *batchState) added() {
	bs.items++
	if bs.items == 1 {
		bs.firstAt = time.Now()
	}
}

func (bs *batchState) reject(origin record.Origin, raw []byte, reason string) {
	bs.rejects = append(bs.rejects, record.Reject{Origin: origin, Raw: string(raw), ErrorType: ErrorType, Reason: reason})
	bs.rejectBytes += len(raw) + len(reason) + len(origin.Source) + 32
	bs.added()
}

// has says the batch already holds lines of the file key.
func (bs *batchState) has(key string) bool {
	_, ok := bs.touched[key]
	return ok
}

func (bs *batchState) setPosition(key string, offset int64, done bool) {
	p := record.Position{Partition: key, Offset: offset, Done: done}
	if i, ok := bs.touched[key]; ok {
		bs.positions[i] = p
		return
	}
	if bs.touched == nil {
		bs.touched = map[string]int{}
	}
	bs.touched[key] = len(bs.positions)
	bs.positions = append(bs.positions, p)
}

// Read returns the next batch: it closes when it holds req.MaxRows rows
// and rejects or req.MaxBytes bytes, req.MaxWaitMillis after its first
// row, or when nothing is left to read and MaxWaitMillis has passed (since
// its first row, or since the call when there is none). It may span files;
// its Positions hold one entry per file it touched. CaughtUp says nothing
// more was waiting when it closed. When ctx ends, Read returns what it has
// read so far, or ctx's error when that is nothing.
func (s *Source) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return plugin.ReadResult{}, errors.New("csvdir: Read before Open")
	}
	start := time.Now()
	bs := &batchState{b: record.NewBatch(s.schema), maxRows: req.MaxRows, maxBytes: req.MaxBytes, wait: time.Duration(req.MaxWaitMillis) * time.Millisecond}
	if bs.maxRows <= 0 {
		bs.maxRows = defaultMaxRows
	}
	if bs.maxBytes <= 0 {
		bs.maxBytes = defaultMaxBytes
	}
	if last := s.sizes.Rows(); last > 0 {
		s.sizes.Grow(bs.b, min(last, bs.maxRows), 0)
	}
	scanned := false
	for {
		if err := ctx.Err(); err != nil {
			if bs.items == 0 && len(bs.positions) == 0 {
				return plugin.ReadResult{}, err
			}
			return s.result(bs, false), nil
		}
		if len(s.active) < s.set.interleave {
			if len(s.queue) == 0 && ((len(s.active) == 0 && !scanned) || time.Since(s.lastScan) >= s.set.poll) {
				s.scan()
				scanned = true
			}
			if len(s.queue) > 0 {
				s.openNext()
				continue
			}
		}
		if len(s.active) > 0 {
			s.next %= len(s.active)
			of := s.active[s.next]
			if s.set.maxFiles > 0 && len(bs.positions) >= s.set.maxFiles && !bs.has(of.key) {
				return s.result(bs, false), nil
			}
			closed, err := s.readFile(ctx, of, bs)
			if err != nil {
				return plugin.ReadResult{}, err
			}
			if closed {
				if !of.done {
					s.next++ // the next batch starts with the next file
				} // else the next file took of's place
				return s.result(bs, len(s.active) == 0 && len(s.queue) == 0), nil
			}
			continue // of ended or failed: on with the next file
		}
		if s.set.maxFiles > 0 && len(bs.positions) >= s.set.maxFiles {
			return s.result(bs, len(s.queue) == 0), nil
		}
		// Nothing to read now: wait for the batch's time, polling.
		deadline := start.Add(bs.wait)
		if bs.items > 0 {
			deadline = bs.firstAt.Add(bs.wait)
		}
		now := time.Now()
		if !now.Before(deadline) {
			return s.result(bs, true), nil
		}
		pause := min(deadline.Sub(now), s.set.poll-now.Sub(s.lastScan))
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-s.arrivals.C():
				s.lastScan = time.Time{} // a file arrived: list the folder now
			}
			t.Stop()
		}
	}
}

// result closes the batch. It reports the backlog with it, listing the
// folder first when the poll interval has passed, so that files that
// arrived while the queue was busy count too.
func (s *Source) result(bs *batchState, caughtUp bool) plugin.ReadResult {
	s.sizes.Learn(bs.b)
	if time.Since(s.lastScan) >= s.set.poll {
		s.scan()
	}
	for _, p := range s.closing {
		bs.setPosition(p.Partition, p.Offset, p.Done)
	}
	s.closing = s.closing[:0]
	return plugin.ReadResult{Batch: bs.b, Rejects: bs.rejects, Positions: bs.positions, CaughtUp: caughtUp, Backlog: s.backlog()}
}

// backlog is what waits to be read: the rest of the file being read and
// the queued files, beyond their resume offsets; and the files that cannot
// be read and those quarantined.
func (s *Source) backlog() *plugin.Backlog {
	b := &plugin.Backlog{Quarantined: s.quarantine}
	for _, of := range s.active {
		b.Partitions++
		b.Bytes += max(0, of.size-of.r.offset)
	}
	for _, f := range s.queue {
		b.Partitions++
		b.Bytes += max(0, f.size-s.resume[f.key])
	}
	for name := range s.unreadable {
		b.Unreadable = append(b.Unreadable, filepath.Join(s.set.dir, name))
	}
	slices.Sort(b.Unreadable)
	return b
}

// Backlog returns what waits to be read after positions, for etl status:
// the matching files of the folder not read to their end, each with its
// bytes beyond its offset (a file that cannot be read counts whole). It
// reads the files to identify them, and changes nothing; a missing folder
// holds nothing when create is true.
func (s *Source) Backlog(_ context.Context, positions []record.Position) (plugin.Backlog, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set.dir == "" {
		return plugin.Backlog{}, errors.New("csvdir: Backlog before Configure")
	}
	files, _, err := s.set.listFiles()
	if err != nil {
		if s.set.create && errors.Is(err, fs.ErrNotExist) {
			return plugin.Backlog{}, nil
		}
		return plugin.Backlog{}, err
	}
	parts := newPartitions(positions)
	parts.filesStay = s.set.afterRead == AfterReadKeep
	var b plugin.Backlog
	for _, f := range files {
		id, err := s.identifyAlone(parts, f)
		if err != nil {
			b.Partitions++
			b.Bytes += f.size
			b.Unreadable = append(b.Unreadable, f.path)
			continue
		}
		if id.verdict != verdictNew && id.verdict != verdictKnown {
			continue
		}
		p := parts.pos[id.key]
		if p.Done && f.size <= p.Offset {
			continue
		}
		b.Partitions++
		b.Bytes += max(0, f.size-p.Offset)
	}
	return b, nil
}

// identifyAlone identifies f against parts alone, as if no other file
// were in the folder.
func (s *Source) identifyAlone(parts *partitions, f file) (identity, error) {
	fh, err := s.open(f.path)
	if err != nil {
		return identity{}, err
	}
	defer fh.Close()
	sum, prefix, err := fingerprint(fh, f.size, parts.prefixSizes(f.name, f.size), s.fingerprintBuffer())
	if err != nil {
		return identity{}, err
	}
	return parts.identify(f, sum, prefix, false, noneSeen{}), nil
}

// noneSeen is a seen of no file.
type noneSeen struct{}

func (noneSeen) holder(string) string                { return "" }
func (noneSeen) otherFile(string, file) bool         { return false }
func (noneSeen) progress(string) (bool, bool, int64) { return false, false, 0 }

// readFile reads lines of of into bs until the batch is closed (by size,
// time or ctx: closed is true) or the file ends (the file is then
// finished and leaves s.active). A read error is logged and the file left to
// be tried again at the next poll from where it stopped.
func (s *Source) readFile(ctx context.Context, of *openFile, bs *batchState) (closed bool, err error) {
	r := of.r
	b := bs.b
	ncols := len(s.cols)
	var readErr error
	defer func() {
		if readErr != nil {
			return
		}
		bs.setPosition(of.key, r.offset, of.done)
	}()
	if hr := of.headerReject; hr != nil {
		of.headerReject = nil
		bs.reject(hr.Origin, []byte(hr.Raw), hr.Reason)
		if bs.full() {
			return true, nil
		}
	}
	for n := 1; ; n++ {
		if n%ctxCheckLines == 0 {
			if ctx.Err() != nil {
				return true, nil
			}
			if bs.wait > 0 && bs.items > 0 && time.Since(bs.firstAt) >= bs.wait {
				return true, nil
			}
		}
		line, tooLong, length, err := r.next()
		if errors.Is(err, io.EOF) {
			if s.endOfFile(of) {
				continue // more was written meanwhile
			}
			return false, nil
		}
		if err != nil {
			readErr = err
			s.suspendFile(of, err)
			// The lines before the error are in the batch: report them.
			bs.setPosition(of.key, r.offset, false)
			return false, nil
		}
		lineNo := r.lines
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) == 0 && !tooLong {
			continue
		}
		origin := record.Origin{Source: of.path, Line: lineNo}
		switch {
		case of.mismatch != "":
			bs.reject(origin, line, fmt.Sprintf("file %s, line %d: %s", of.path, lineNo, of.mismatch))
		case tooLong:
			bs.reject(origin, line, fmt.Sprintf("file %s, line %d: line of %d bytes, longer than max_line_bytes %d", of.path, lineNo, length, s.set.maxLineBytes))
		default:
			fields, problem := s.sp.split(line)
			if problem == "" && len(fields) != ncols {
				problem = fmt.Sprintf("field count %d, want %d", len(fields), ncols)
			}
			if problem != "" {
				bs.reject(origin, line, fmt.Sprintf("file %s, line %d: %s", of.path, lineNo, problem))
				break
			}
			b.StartRow(origin, line)
			if of.colIdx == nil {
				for _, f := range fields {
					b.AppendBytes(f)
				}
			} else {
				for _, i := range of.colIdx {
					b.AppendBytes(fields[i])
				}
			}
			bs.added()
		}
		if bs.full() {
			if r.atEOF() {
				s.endOfFile(of)
			} else {
				s.checkChanged(of)
			}
			return true, nil
		}
	}
}

// endOfFile is called when of's reader reached the end of the file. It
// reports more when the file grew meanwhile (the reader goes on);
// otherwise the file is finished, or quarantined when it changed since it
// was identified: it shrank, or the bytes that were fingerprinted changed.
// An append is not a change: its lines are read after the rest.
func (s *Source) endOfFile(of *openFile) (more bool) {
	fi, err := of.f.Stat()
	if err != nil {
		s.finishFile(of)
		return false
	}
	now := of.file.withStat(fi)
	switch {
	case now.size > of.cr.n:
		return true
	case now.size < of.cr.n || of.r.offset < of.fpSize:
		s.quarantineOpen(of, fmt.Sprintf("it shrank to %d bytes while being read, below the %d bytes already read", now.size, max(of.cr.n, of.r.offset)))
		return false
	case now.sameStat(of.file):
		s.finishFile(of)
		return false
	}
	// Written to while being read: an append, or a rewrite?
	sum, _, err := fingerprint(of.f, of.fpSize, nil, s.fingerprintBuffer())
	if err != nil || sum != of.fpSum {
		s.quarantineOpen(of, "bytes already read changed while it was being read")
		return false
	}
	// Appended to: the fingerprint of the whole file now, for the next look.
	of.file = now
	if sum, _, err := fingerprint(of.f, now.size, nil, s.fingerprintBuffer()); err == nil {
		of.fpSize, of.fpSum = now.size, sum
		if now.size <= headBytes {
			of.fpHead = sum
		}
	}
	if id, ok := s.ids[of.name]; ok && id.sameInode(of.file) {
		s.ids[of.name] = of.file
	}
	s.finishFile(of)
	return false
}

// checkChanged looks at of's file between two batches: when it was
// written to since the last look, it is quarantined if it is shorter now
// than what the reader took from it, or if its first bytes changed.
func (s *Source) checkChanged(of *openFile) {
	fi, err := of.f.Stat()
	if err != nil {
		return
	}
	now := of.file.withStat(fi)
	if now.sameStat(of.looked) {
		return
	}
	of.looked = now
	if now.size < of.cr.n {
		s.quarantineOpen(of, fmt.Sprintf("it shrank to %d bytes while being read, below the %d bytes already read", now.size, of.cr.n))
		return
	}
	head, _, err := fingerprint(of.f, min(headBytes, of.fpSize), nil, s.fingerprintBuffer())
	if err != nil || head != of.fpHead {
		s.quarantineOpen(of, "bytes already read changed while it was being read")
	}
}

// quarantineOpen stops reading of, which changed while being read: its
// position is reported done where the reader stands, the lines read so
// far stay in the batch, and the file moves to the quarantine folder.
func (s *Source) quarantineOpen(of *openFile, why string) {
	s.finishFile(of)
	delete(s.finished, of.key)
	s.setAside(of.file, of.key, of.r.offset, why)
}

func (s *Source) fingerprintBuffer() []byte {
	if s.fpBuf == nil {
		s.fpBuf = make([]byte, readBufferBytes)
	}
	return s.fpBuf
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// finishFile closes of, read to its end.
func (s *Source) finishFile(of *openFile) {
	of.f.Close()
	of.done = true
	s.drop(of)
	delete(s.resume, of.key)
	s.files[of.key] = stateRead
	s.doneAt[of.key] = of.r.offset
	if s.set.afterRead != AfterReadKeep {
		s.finished[of.key] = of.file
	}
}

// suspendFile closes of after a read error; the next scan finds it again
// and reading goes on where it stopped.
func (s *Source) suspendFile(of *openFile, err error) {
	of.f.Close()
	s.drop(of)
	s.resume[of.key] = of.r.offset
	delete(s.files, of.key)
	s.unreadable[of.name] = err.Error()
	s.problem(of.path, "cannot read file; trying again at every poll", fmt.Errorf("read %s: %w", of.path, err))
}

// Ack takes note that everything up to positions is committed. With
// after_read archive or delete, the files whose Done position is among them
// are archived or deleted now, never before. A failure to do so is logged
// and tried again at later polls; the file is not read again.
func (s *Source) Ack(_ context.Context, positions []record.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range positions {
		if s.parts != nil {
			s.parts.add(p.Partition)
			s.parts.pos[p.Partition] = p
		}
		// A file that grew after its Done position was sent is being read
		// again: only the Done position of its new end finishes it.
		if !p.Done || s.files[p.Partition] != stateRead || p.Offset != s.doneAt[p.Partition] {
			continue
		}
		s.files[p.Partition] = stateCommitted
		if f, ok := s.finished[p.Partition]; ok {
			delete(s.finished, p.Partition)
			s.applyAfterRead(f)
		}
	}
	return nil
}

// Close closes the files being read and the watch of the folder.
func (s *Source) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, of := range s.active {
		of.f.Close()
	}
	s.active = nil
	err := s.arrivals.Close()
	s.arrivals = nil
	return err
}

// drop removes of from the files being read.
func (s *Source) drop(of *openFile) {
	for i, a := range s.active {
		if a == of {
			s.active = append(s.active[:i], s.active[i+1:]...)
			if i < s.next {
				s.next--
			}
			return
		}
	}
}
