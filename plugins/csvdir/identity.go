package csvdir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed-etl/etl/core/record"
)

// A file is identified by what it holds, not by its name, size and
// modification time: the same name comes back with other bytes (tar x,
// unzip, rsync -t and cp -p keep the time; a rename replaces a file), and
// the same bytes come back under another name.
//
// Its partition is named by partitionKey from its name, its size when it
// was first seen and a fingerprint of those bytes, e.g.
// "events-0001.csv size=73421 sha256=5f1c...". A file that grows keeps its
// partition: the fingerprint of its first size bytes still matches, and
// reading goes on from the committed offset. The name is relative to the
// folder, so that moving the folder (or naming it by another path) reads
// nothing again.
//
// Device, inode, size and the modification and change times are the first
// filter: a file whose stat did not change since it was fingerprinted is
// not read again to tell who it is. So each file is read once more in all,
// when it is first seen (after a restart too), and then only when its stat
// changes.

// fingerprintBytes is how much of a SHA-256 a partition key holds: 128
// bits, as hex.
const fingerprintBytes = 16

// partitionKey names the partition of the file called name whose first
// size bytes have the fingerprint sum.
func partitionKey(name string, size int64, sum string) string {
	return quoteName(name) + " size=" + strconv.FormatInt(size, 10) + " sha256=" + sum
}

// quoteName quotes a name that is not UTF-8: positions are stored as text.
func quoteName(name string) string {
	if !utf8.ValidString(name) {
		return strconv.QuoteToASCII(name)
	}
	return name
}

// keyParts is what a partition key says of its file. Keys written before
// files were fingerprinted hold a modification time instead of a sum.
type keyParts struct {
	name  string // as quoteName left it
	size  int64
	sum   string    // "" in an old key
	mtime time.Time // in an old key only
	copy  int       // n for the n-th copy of the same bytes (duplicates: load)
}

// parseKey splits a partition key; ok is false for a key csvdir did not
// write.
func parseKey(key string) (keyParts, bool) {
	if i := strings.LastIndex(key, " sha256="); i > 0 {
		name, size, ok := splitSize(key[:i])
		k := keyParts{name: name, size: size, sum: key[i+len(" sha256="):]}
		if j := strings.Index(k.sum, " copy="); j > 0 {
			n, err := strconv.Atoi(k.sum[j+len(" copy="):])
			k.sum, k.copy, ok = k.sum[:j], n, ok && err == nil && n > 0
		}
		return k, ok
	}
	if i := strings.LastIndex(key, " mtime="); i > 0 {
		t, err := time.Parse(time.RFC3339Nano, key[i+len(" mtime="):])
		name, size, ok := splitSize(key[:i])
		return keyParts{name: name, size: size, mtime: t}, ok && err == nil
	}
	return keyParts{}, false
}

func splitSize(s string) (string, int64, bool) {
	i := strings.LastIndex(s, " size=")
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(s[i+len(" size="):], 10, 64)
	return s[:i], n, err == nil && n >= 0
}

// errShrunk says a file ended before the size it had when listed: it is
// being changed, and is looked at again at the next poll.
var errShrunk = errors.New("file shrank while being fingerprinted")

// fingerprint reads the first size bytes of r and returns their
// fingerprint, and the fingerprint of the first n bytes for each n in
// prefixes that is below size.
func fingerprint(r io.ReaderAt, size int64, prefixes []int64, buf []byte) (string, map[int64]string, error) {
	h := sha256.New()
	cuts := slices.Sorted(slices.Values(prefixes))
	cuts = append(slices.DeleteFunc(cuts, func(n int64) bool { return n >= size || n < 0 }), size)
	at := make(map[int64]string, len(cuts))
	var off int64
	for _, cut := range cuts {
		for off < cut {
			n, err := r.ReadAt(buf[:min(int64(len(buf)), cut-off)], off)
			h.Write(buf[:n])
			off += int64(n)
			if err != nil && off < cut {
				if errors.Is(err, io.EOF) {
					return "", nil, errShrunk
				}
				return "", nil, err
			}
		}
		at[cut] = hex.EncodeToString(h.Sum(nil)[:fingerprintBytes])
	}
	return at[size], at, nil
}

// partitions is what the source knows of the partitions it has seen:
// their positions, and indexes to find a file's partition by name and by
// content.
type partitions struct {
	// filesStay says files stay in the folder once read (after_read
	// keep): only then can a file read to its end grow in the folder.
	filesStay bool
	pos       map[string]record.Position // by key; a partition first seen now has none
	byName    map[string][]string        // quoted name -> keys
	bySum     map[string]string          // "size sum" -> the first key holding those bytes
}

func newPartitions(positions []record.Position) *partitions {
	p := &partitions{pos: map[string]record.Position{}, byName: map[string][]string{}, bySum: map[string]string{}}
	for _, pos := range positions {
		p.add(pos.Partition)
		p.pos[pos.Partition] = pos
	}
	return p
}

// add indexes key, a partition seen or stored.
func (p *partitions) add(key string) {
	if _, ok := p.pos[key]; ok {
		return
	}
	p.pos[key] = record.Position{Partition: key}
	k, ok := parseKey(key)
	if !ok {
		return
	}
	p.byName[k.name] = append(p.byName[k.name], key)
	if k.sum != "" && k.copy == 0 {
		if _, taken := p.bySum[sumKey(k.size, k.sum)]; !taken {
			p.bySum[sumKey(k.size, k.sum)] = key
		}
	}
}

func sumKey(size int64, sum string) string { return strconv.FormatInt(size, 10) + " " + sum }

// prefixSizes are the sizes of the partitions known under name that are
// at most size: the prefixes of a file called name worth fingerprinting to
// tell whether it is one of them, grown.
func (p *partitions) prefixSizes(name string, size int64) []int64 {
	var sizes []int64
	for _, key := range p.byName[quoteName(name)] {
		if k, _ := parseKey(key); k.sum != "" && k.copy == 0 && k.size < size {
			sizes = append(sizes, k.size)
		}
	}
	return sizes
}

// verdict is what identify decided a file is.
type verdict uint8

const (
	verdictNew       verdict = iota // a partition never seen: read it from its start
	verdictKnown                    // a known partition (maybe grown): go on from its position
	verdictDuplicate                // the same bytes as another partition, loaded or being loaded
	verdictChanged                  // a partition read in part (or read here) whose bytes changed
)

// identity is the outcome of identify.
type identity struct {
	verdict verdict
	key     string // the file's partition; for a duplicate, the one it repeats
	reason  string // why a file changed, for the log
}

// seen is what the source knows of the files of the folder now, for
// identify.
type seen interface {
	// holder returns the name of the file of the folder that holds
	// partition key now, "" when none does.
	holder(key string) string
	// otherFile reports whether partition key was taken, in this process,
	// by a file other than f (another device or inode).
	otherFile(key string, f file) bool
	// progress says how far partition key was read in this process: being
	// read now, read to its end, and the offset reached (0 when unknown).
	progress(key string) (reading, done bool, offset int64)
}

// identify decides which partition f belongs to, f being fingerprinted as
// sum (and as prefix[n] for its first n bytes). rewritten says f is the
// file (same device and inode) known as partition f.key in this process,
// whose stat changed since: a mismatch then means its bytes changed, never
// that it is a new file.
func (p *partitions) identify(f file, sum string, prefix map[int64]string, rewritten bool, s seen) identity {
	// where says how far partition k was read, here or before.
	where := func(k string) (reading, done bool, offset int64) {
		reading, done, offset = s.progress(k)
		pos := p.pos[k]
		return reading, done || pos.Done, max(offset, pos.Offset)
	}
	key := partitionKey(f.name, f.size, sum)
	if _, ok := p.pos[key]; ok {
		if _, done, _ := where(key); !done || rewritten {
			return identity{verdict: verdictKnown, key: key}
		}
		// Read to its end: this file, left here (after_read keep, or a
		// crash before archiving), or a copy of it dropped again.
		if c := p.openCopy(key); c != "" {
			return identity{verdict: verdictKnown, key: c}
		}
		if s.otherFile(key, f) {
			return identity{verdict: verdictDuplicate, key: key}
		}
		return identity{verdict: verdictKnown, key: key}
	}
	// A partition of this name whose bytes this file starts with has
	// grown. One that this file does not start with and that was read in
	// part (or, rewritten, read here) has changed under us; unless it is
	// being read still: then this is a new file renamed over it, and the
	// reader holds the old one open.
	var changed string
	var changedAt int64
	for _, k := range p.byName[quoteName(f.name)] {
		kp, _ := parseKey(k)
		reading, done, offset := where(k)
		switch {
		case kp.sum == "":
			if kp.size == f.size && kp.mtime.Equal(f.mtime) {
				return identity{verdict: verdictKnown, key: k} // a key of before fingerprints
			}
		case kp.copy == 0 && kp.size > 0 && kp.size < f.size && prefix[kp.size] == kp.sum && p.canHaveGrown(k, f, done, rewritten, s):
			if c := p.openCopy(k); c != "" {
				return identity{verdict: verdictKnown, key: c}
			}
			return identity{verdict: verdictKnown, key: k}
		case rewritten && k == f.key, !reading && !done && offset > 0:
			changed, changedAt = k, offset
		}
	}
	if changed != "" {
		if f.size < changedAt {
			return identity{verdict: verdictChanged, key: changed, reason: fmt.Sprintf("it shrank to %d bytes, below the %d bytes already read", f.size, changedAt)}
		}
		return identity{verdict: verdictChanged, key: changed, reason: "the bytes already read changed"}
	}
	if other, ok := p.bySum[sumKey(f.size, sum)]; ok {
		if _, done, _ := where(other); done || s.holder(other) != "" {
			return identity{verdict: verdictDuplicate, key: other}
		}
		return identity{verdict: verdictKnown, key: other} // renamed while read in part
	}
	return identity{verdict: verdictNew, key: key}
}

// canHaveGrown reports whether f, which starts with the bytes of
// partition k of its name, may be that file grown: the same file in this
// process, or one that was read in part, or one read to its end that
// stayed in the folder (after_read keep). A file read to its end and
// archived or deleted, or replaced in this process by another file, is
// gone: a file starting with the same bytes (a header-only or empty
// first file of a reused name) is a new file.
func (p *partitions) canHaveGrown(k string, f file, done, rewritten bool, s seen) bool {
	switch {
	case rewritten && k == f.key:
		return true
	case s.otherFile(k, f):
		return false
	}
	return !done || p.filesStay
}

// openCopy returns a copy of partition key (duplicates: load) that is not
// read to its end yet, "" when there is none.
func (p *partitions) openCopy(key string) string {
	for n := 1; ; n++ {
		c := copyKey(key, n)
		pos, ok := p.pos[c]
		if !ok {
			return ""
		}
		if !pos.Done {
			return c
		}
	}
}

// newCopy returns the partition of one more copy of key, for duplicates:
// load.
func (p *partitions) newCopy(key string) string {
	for n := 1; ; n++ {
		if _, ok := p.pos[copyKey(key, n)]; !ok {
			return copyKey(key, n)
		}
	}
}

// copyKey names the n-th copy of partition key.
func copyKey(key string, n int) string { return key + " copy=" + strconv.Itoa(n) }
