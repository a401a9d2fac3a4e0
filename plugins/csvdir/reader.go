package csvdir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// readBufferBytes is the size of the buffer of the open file. Lines up to
// this length are handed out without a copy; longer ones are gathered in a
// separate buffer of at most max_line_bytes.
const readBufferBytes = 256 << 10

// lineReader hands out the physical lines of one file, streaming: it holds
// one buffer of readBufferBytes and, for long lines, at most maxLine+2
// bytes more, whatever the size of the file.
type lineReader struct {
	br      *bufio.Reader
	maxLine int
	long    []byte
	offset  int64 // bytes consumed
	lines   int64 // physical lines consumed
}

func newLineReader(r io.Reader, maxLine int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, readBufferBytes), maxLine: maxLine}
}

// next returns the next line without its line end ("\n" or "\r\n"). When
// the line is longer than maxLine bytes, it returns its first maxLine bytes
// (fewer when that would cut a character in two, see keepStart), tooLong set
// and the line's full length. A last line without a line end
// counts as a line: files are complete when they appear. At the end it
// returns io.EOF. The line aliases the reader's buffers until the next call.
func (r *lineReader) next() (line []byte, tooLong bool, length int, err error) {
	b, err := r.br.ReadSlice('\n')
	switch {
	case err == nil || (errors.Is(err, io.EOF) && len(b) > 0):
		r.offset += int64(len(b))
		r.lines++
		line = trimLineEnd(b)
		if len(line) > r.maxLine {
			return keepStart(line, r.maxLine), true, len(line), nil
		}
		return line, false, len(line), nil
	case errors.Is(err, io.EOF):
		return nil, false, 0, io.EOF
	case errors.Is(err, bufio.ErrBufferFull):
		return r.nextLong(b)
	default:
		return nil, false, 0, err
	}
}

// nextLong goes on with a line longer than the read buffer, of which first
// is the beginning, keeping at most maxLine+2 of its bytes.
func (r *lineReader) nextLong(first []byte) (line []byte, tooLong bool, length int, err error) {
	keep := r.maxLine + 2 // enough to tell the line end from the content
	r.long = append(r.long[:0], first[:min(len(first), keep)]...)
	total := len(first)
	var last2 [2]byte // the last two bytes of the line, for its line end
	last2[0], last2[1] = first[len(first)-2], first[len(first)-1]
	for {
		b, err := r.br.ReadSlice('\n')
		if len(b) > 0 {
			total += len(b)
			if room := keep - len(r.long); room > 0 {
				r.long = append(r.long, b[:min(len(b), room)]...)
			}
			if len(b) >= 2 {
				last2[0], last2[1] = b[len(b)-2], b[len(b)-1]
			} else {
				last2[0], last2[1] = last2[1], b[0]
			}
		}
		if err == nil || errors.Is(err, io.EOF) {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, false, 0, err
		}
	}
	r.offset += int64(total)
	r.lines++
	length = total
	if last2[1] == '\n' {
		length--
		if last2[0] == '\r' {
			length--
		}
	}
	if length > r.maxLine {
		return keepStart(r.long, r.maxLine), true, length, nil
	}
	return r.long[:length], false, length, nil
}

// keepStart returns the first n bytes of line, which is longer, less the
// start of a UTF-8 character cut in two there: the text kept of a line that
// is too long stays UTF-8 when the line is, as text crossing the plugin
// boundary must.
func keepStart(line []byte, n int) []byte {
	cut := n
	for cut > 0 && n-cut < utf8.UTFMax-1 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	if !utf8.RuneStart(line[cut]) {
		cut = n // not UTF-8 anyway: keep every byte
	}
	return line[:cut]
}

// trimLineEnd drops a trailing "\n" or "\r\n".
func trimLineEnd(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// skipTo consumes the file up to byte offset to, counting the lines passed,
// without holding more than the read buffer. It reports false when the file
// ends first.
func (r *lineReader) skipTo(to int64) (bool, error) {
	for r.offset < to {
		n := int(min(to-r.offset, int64(r.br.Size())))
		b, err := r.br.Peek(n)
		r.lines += int64(bytes.Count(b, []byte{'\n'}))
		r.offset += int64(len(b))
		if _, derr := r.br.Discard(len(b)); derr != nil {
			return false, fmt.Errorf("skip to byte %d: %w", to, derr)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("skip to byte %d: %w", to, err)
		}
	}
	return true, nil
}

// atEOF reports whether the file has been read to its end. A read error
// is not an end: the next call to next reports it.
func (r *lineReader) atEOF() bool {
	_, err := r.br.Peek(1)
	return errors.Is(err, io.EOF)
}
