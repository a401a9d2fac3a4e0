package record

// Sizes remembers how many bytes each column of a batch took, so that a
// stage that builds batches like its last one can grow the next one once,
// to about its final size: Batch.Grow shares its bytes evenly among the
// text columns, which suits no real schema (a product name is ten times
// an action), and a column that outgrows its room is copied as it doubles.
// The zero Sizes has learned nothing.
type Sizes struct {
	rows  int
	bytes []int // per column, then the raw text
	hint  []int // Grow's scratch
}

// Learn keeps the sizes of b's columns and raw text, if b has rows.
func (s *Sizes) Learn(b *Batch) {
	if b.Len() == 0 {
		return
	}
	n := b.Cols()
	s.bytes = append(s.bytes[:0], make([]int, n+1)...)
	for i := 0; i < n; i++ {
		s.bytes[i] = b.ValueBytes(i)
	}
	s.bytes[n] = len(b.raw)
	s.rows = b.Len()
}

// Rows is the number of rows of the batch learned last, 0 before any.
func (s *Sizes) Rows() int { return s.rows }

// Grow makes room in b for rows more rows, each column as much as it took
// per row in the batch learned last, with a sixteenth to spare. Before
// anything was learned it calls b.Grow(rows, guess), guess being the
// caller's estimate of the rows' size.
func (s *Sizes) Grow(b *Batch, rows, guess int) {
	if s.rows == 0 || len(s.bytes) != b.Cols()+1 {
		b.Grow(rows, guess)
		return
	}
	s.hint = s.hint[:0]
	for _, total := range s.bytes {
		s.hint = append(s.hint, int(float64(total)/float64(s.rows)*float64(rows)*17/16)+64)
	}
	n := b.Cols()
	b.GrowBytes(rows, s.hint[:n], s.hint[n])
}
