// Package events generates realistic e-commerce events as CSV lines, some
// of them deliberately dirty, together with what a correct pipeline
// (configs/ecommerce.yaml: the csvdir source and the cleanser) must do with
// each: keep it, cleaned to a known Event, or refuse it with a known error
// type. Run writes them as files into a folder, atomically, with a JSON
// Manifest of the ground truth.
//
// Users and products are drawn with a Zipf skew (a few very active users,
// a few popular products) and events follow shopping sessions: views, then
// fewer add-to-carts, fewer purchases, some removals. The catalogue (product
// id -> name and price) is fixed by the seed. Event times lie near the clock
// given to Next: most up to 3 s behind, some up to 2 s ahead (skewed
// clocks), some 1 to 30 minutes late; so they arrive out of order.
//
// With the same Config and the same clock readings the output is the same,
// byte for byte.
package events

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
)

// Header is the first line of every file, without its line end.
const Header = "user_id,action,product_id,product_name,price,event_time,session_id"

// The actions, as the cleanser stores them.
const (
	ActionView           = "VIEW"
	ActionAddToCart      = "ADD_TO_CART"
	ActionRemoveFromCart = "REMOVE_FROM_CART"
	ActionPurchase       = "PURCHASE"
	ActionUnknown        = "UNKNOWN"
)

// Defaults of Config.
const (
	DefaultUsers    = 10000
	DefaultProducts = 500
	DefaultSessions = 64
)

// notBefore is 2000-01-01T00:00:00Z in ms: the pipeline refuses earlier
// times, so no accepted event is earlier.
const notBefore = 946684800000

// Config says what to generate.
type Config struct {
	// Seed fixes everything random: the catalogue, users, sessions,
	// defects. The same Seed (and clock) gives the same output.
	Seed int64
	// Start is where Run's simulated clock starts; zero means the wall
	// clock. Next ignores it: it takes its clock as an argument.
	Start time.Time
	// Users is the number of distinct users, ids 1 to Users (default
	// DefaultUsers).
	Users int
	// Products is the size of the catalogue, ids 1001 to 1000+Products
	// (default DefaultProducts).
	Products int
	// Sessions is how many shopping sessions run at once, interleaving
	// their events (default DefaultSessions).
	Sessions int
	// Rates is the share of rows of each defect kind (see Kinds), e.g.
	// {"bad_time": 0.01}; a kind left out has rate 0. Nil means
	// DefaultRates(). They must add up to at most 1; the rest is clean.
	Rates map[string]float64
}

// Check reports a Config New would refuse.
func (c Config) Check() error {
	if c.Users < 0 || c.Products < 0 || c.Sessions < 0 {
		return fmt.Errorf("users (%d), products (%d) and sessions (%d) must not be negative", c.Users, c.Products, c.Sessions)
	}
	if c.Users > 1<<40 || c.Products > 1<<24 {
		return fmt.Errorf("users (%d) at most 2^40, products (%d) at most 2^24", c.Users, c.Products)
	}
	if !c.Start.IsZero() && c.Start.UnixMilli() < notBefore {
		return fmt.Errorf("start time %s is before 2000-01-01, which the pipeline refuses", c.Start.Format(time.RFC3339))
	}
	if c.Rates != nil {
		return checkRates(c.Rates)
	}
	return nil
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.Users == 0 {
		c.Users = DefaultUsers
	}
	if c.Products == 0 {
		c.Products = DefaultProducts
	}
	if c.Sessions == 0 {
		c.Sessions = DefaultSessions
	}
	if c.Rates == nil {
		c.Rates = DefaultRates()
	}
	return c
}

// Event is a row as a correct pipeline stores it in the events table.
type Event struct {
	UserID int64 `json:"user_id"`
	// Action is VIEW, ADD_TO_CART, REMOVE_FROM_CART, PURCHASE or UNKNOWN.
	Action    string `json:"action"`
	ProductID int64  `json:"product_id"`
	// ProductName is "" for NULL (the column is nullable; catalogue names
	// are never empty).
	ProductName string `json:"product_name"`
	// Price has exactly two decimals, e.g. "19.90"; "" is NULL.
	Price string `json:"price"`
	// EventTime is UTC, truncated to what the written format carries:
	// milliseconds or whole seconds.
	EventTime time.Time `json:"event_time"`
	// SessionID is "" for NULL.
	SessionID string `json:"session_id"`
}

// Outcome is what a correct pipeline must do with a line.
type Outcome struct {
	// Kind is KindClean or one of Kinds.
	Kind string
	// Accept says the row lands in the events table, as Want.
	Accept bool
	// ErrorType is the reject's error type when Accept is false.
	ErrorType string
	// Want is the stored row when Accept is true, zero otherwise.
	Want Event
}

// The action indices of a session step.
const (
	aView = iota
	aCart
	aRemove
	aPurchase
)

var actionNames = [4]string{ActionView, ActionAddToCart, ActionRemoveFromCart, ActionPurchase}

var actionBytes = [4][]byte{[]byte(ActionView), []byte(ActionAddToCart), []byte(ActionRemoveFromCart), []byte(ActionPurchase)}

// spellings are other ways of writing each action that
// configs/ecommerce.yaml maps to it (after lower-casing and dropping
// spaces, '-' and '_').
var spellings = [4][][]byte{
	bs("view", "viewed", "Page View", "page_view", "pageview", "page-view", "View", "PAGE VIEW", "Viewed", "PageView"),
	bs("add to cart", "add-to-cart", "add_to_cart", "addToCart", "cart", "added to cart", "Add To Cart", "ADD-TO-CART", "AddToCart", "Cart"),
	bs("remove", "remove from cart", "remove-from-cart", "removeFromCart", "removed", "Remove From Cart", "REMOVE", "Removed", "remove_from_cart"),
	bs("buy", "bought", "purchased", "checkout", "order", "purchase", "Purchase", "BUY", "Checkout", "Purchased"),
}

// unknownActions are actions no alias knows: stored as UNKNOWN.
var unknownActions = bs("wishlist", "share", "search", "compare", "add to wishlist", "review", "click", "zoom", "refund", "Wish-List")

// nullTexts are the cleanser's default null values, and white space that
// trims to "".
var nullTexts = bs("", "null", "NULL", "N/A", "none", "  ")

// paddings are what KindPadding puts around a field.
var paddings = bs(" ", "  ", "   ", "\t", " \t")

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// session is one shopping session: a user browsing, filling a cart,
// perhaps buying.
type session struct {
	user     int64
	id       string
	idb      []byte
	cart     [8]int32
	ncart    int
	last     int32 // the product viewed last
	steps    int
	checkout bool // purchasing the cart, one event per product
	done     bool
}

// maxSteps ends a session that runs too long.
const maxSteps = 60

// The ways of writing a field.
const (
	modePlain     = iota // as it is
	modeQuote            // quoted, quotes doubled
	modeOpenQuote        // an opening quote and no closing one
	modeSpaceOut         // quoted, then a space after the closing quote
	modeSpaceIn          // a space, then the quoted field
)

type field struct {
	b    []byte
	mode uint8
}

// Generator produces events. It is not safe for concurrent use.
type Generator struct {
	cfg      Config
	r        *rand.Rand
	cat      []Product
	userZipf *rand.Zipf
	prodZipf *rand.Zipf
	userPerm perm
	prodPerm perm
	sessions []session
	// kinds and thresholds: a row is of kinds[i] for the first i whose
	// threshold exceeds a uniform uint64; clean past the last.
	kinds      []KindInfo
	thresholds []uint64

	f    [8]field
	nf   int
	buf  [8][]byte // the fields' own bytes
	tmp  []byte
	tmp2 []byte
}

// New returns a generator for cfg. It panics when cfg.Check fails.
func New(cfg Config) *Generator {
	if err := cfg.Check(); err != nil {
		panic("events.New: " + err.Error())
	}
	cfg = cfg.withDefaults()
	seed := uint64(cfg.Seed)
	catRand := rand.New(rand.NewPCG(seed, 0x636174616c6f6775)) // "catalogu"
	r := rand.New(rand.NewPCG(seed, 0x6576656e74730001))       // "events"
	g := &Generator{
		cfg: cfg,
		r:   r,
		cat: newCatalogue(catRand, cfg.Products),
	}
	g.userZipf = rand.NewZipf(r, 1.1, 10, uint64(cfg.Users-1))
	g.prodZipf = rand.NewZipf(r, 1.2, 5, uint64(cfg.Products-1))
	g.userPerm = newPerm(catRand, uint64(cfg.Users))
	g.prodPerm = newPerm(catRand, uint64(cfg.Products))
	cum := 0.0
	for _, k := range Kinds {
		rate := cfg.Rates[k.Name]
		if rate <= 0 {
			continue
		}
		cum += rate
		t := uint64(0)
		if cum >= 1 {
			t = ^uint64(0)
		} else {
			t = uint64(cum * (1 << 64))
		}
		g.kinds = append(g.kinds, k)
		g.thresholds = append(g.thresholds, t)
	}
	g.sessions = make([]session, cfg.Sessions)
	for i := range g.sessions {
		g.newSession(&g.sessions[i])
	}
	return g
}

// perm maps a rank to an index, 0 to n-1, scattering the popular ranks:
// i -> (i*a + b) mod n with a prime to n.
type perm struct{ a, b, n uint64 }

func newPerm(r *rand.Rand, n uint64) perm {
	if n <= 1 {
		return perm{a: 1, n: 1}
	}
	a := 1 + r.Uint64N(n-1)
	for gcd(a, n) != 1 {
		a = 1 + r.Uint64N(n-1)
	}
	return perm{a: a, b: r.Uint64N(n), n: n}
}

func (p perm) at(i uint64) uint64 {
	hi, lo := bits.Mul64(p.a, i)
	return (bits.Rem64(hi, lo, p.n) + p.b) % p.n
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Catalogue returns the products, by id from 1001; the slice must not be
// changed.
func (g *Generator) Catalogue() []Product { return g.cat }

// Product returns the product with the given id.
func (g *Generator) Product(id int64) (Product, bool) {
	i := id - 1001
	if i < 0 || i >= int64(len(g.cat)) {
		return Product{}, false
	}
	return g.cat[i], true
}

// Config returns the configuration with its defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

func (g *Generator) user() int64 {
	return int64(1 + g.userPerm.at(g.userZipf.Uint64()))
}

func (g *Generator) product() int32 {
	return int32(g.prodPerm.at(g.prodZipf.Uint64()))
}

func (g *Generator) newSession(s *session) {
	*s = session{user: g.user(), last: -1, idb: s.idb[:0]}
	s.idb = append(s.idb, "sess_"...)
	x := g.r.Uint64()
	for i := 0; i < 16; i++ {
		s.idb = append(s.idb, "0123456789abcdef"[x>>60])
		x <<= 4
	}
	s.id = string(s.idb)
}

// step advances s by one event and returns its action and product index.
func (g *Generator) step(s *session) (int, int32) {
	if s.checkout {
		return g.purchase(s)
	}
	if s.done || s.steps >= maxSteps {
		g.newSession(s)
	}
	s.steps++
	if s.last < 0 {
		s.last = g.product()
		return aView, s.last
	}
	u := g.r.IntN(100)
	if s.ncart > 0 {
		switch {
		case u < 10:
			s.checkout = true
			return g.purchase(s)
		case u < 17:
			i := g.r.IntN(s.ncart)
			p := s.cart[i]
			s.ncart--
			s.cart[i] = s.cart[s.ncart]
			return aRemove, p
		case u < 27 && s.ncart < len(s.cart) && !s.inCart(s.last):
			s.cart[s.ncart] = s.last
			s.ncart++
			return aCart, s.last
		case u < 93:
			s.last = g.product()
			return aView, s.last
		}
	} else {
		switch {
		case u < 20:
			s.cart[0] = s.last
			s.ncart = 1
			return aCart, s.last
		case u < 88:
			s.last = g.product()
			return aView, s.last
		}
	}
	// The shopper leaves; another session starts.
	s.done = true
	return g.step(s)
}

// purchase buys the last product of the cart; the session ends with the
// cart empty.
func (g *Generator) purchase(s *session) (int, int32) {
	s.ncart--
	p := s.cart[s.ncart]
	if s.ncart == 0 {
		s.checkout = false
		s.done = true
	}
	return aPurchase, p
}

func (s *session) inCart(p int32) bool {
	for _, q := range s.cart[:s.ncart] {
		if q == p {
			return true
		}
	}
	return false
}

// eventMillis returns the event time for the clock reading now, in ms.
func (g *Generator) eventMillis(now time.Time) int64 {
	ms := now.UnixMilli()
	switch u := g.r.IntN(1000); {
	case u < 10: // a client clock slightly ahead
		ms += 1 + g.r.Int64N(2000)
	case u < 60: // late: 1 to 30 minutes old
		ms -= 60_000 + g.r.Int64N(29*60_000)
	default:
		ms -= g.r.Int64N(3000)
	}
	return max(ms, notBefore)
}

func (g *Generator) pickKind() (KindInfo, bool) {
	if len(g.thresholds) == 0 {
		return KindInfo{}, false
	}
	x := g.r.Uint64()
	for i, t := range g.thresholds {
		if x < t {
			return g.kinds[i], true
		}
	}
	return KindInfo{}, false
}

// set points field i at b.
func (g *Generator) set(i int, b []byte, mode uint8) {
	g.f[i] = field{b: b, mode: mode}
}

// own returns field i's own buffer, emptied, to append its new value to.
func (g *Generator) own(i int) []byte { return g.buf[i][:0] }

// put makes b, built on own(i), field i's value.
func (g *Generator) put(i int, b []byte, mode uint8) {
	g.buf[i] = b
	g.f[i] = field{b: b, mode: mode}
}

func (g *Generator) pick(list [][]byte) []byte { return list[g.r.IntN(len(list))] }

// Next appends one CSV line, ending in "\n", to dst for the clock reading
// now, and returns it with what a correct pipeline must do with it.
func (g *Generator) Next(dst []byte, now time.Time) ([]byte, Outcome) {
	s := &g.sessions[g.r.IntN(len(g.sessions))]
	act, pi := g.step(s)
	p := &g.cat[pi]
	ms := g.eventMillis(now)
	kind, dirty := g.pickKind()
	if !dirty {
		kind = KindInfo{Name: KindClean, Accept: true}
	}
	want := Event{
		UserID: s.user, Action: actionNames[act], ProductID: p.ID,
		ProductName: p.Name, Price: p.Price, SessionID: s.id,
	}
	tf := tfClean
	offset := 0

	g.nf = 7
	g.put(0, strconv.AppendInt(g.own(0), s.user, 10), modePlain)
	g.set(1, actionBytes[act], modePlain)
	g.set(2, p.id, modePlain)
	g.set(3, p.nameCSV, modePlain)
	g.set(4, p.price, modePlain)
	g.set(6, s.idb, modePlain)

	switch kind.Name {
	case KindActionSpelling:
		g.set(1, g.pick(spellings[act]), modePlain)
	case KindUnknownAction:
		g.set(1, g.pick(unknownActions), modePlain)
		want.Action = ActionUnknown
	case KindTimeFormat:
		tf = timeFormat(1 + g.r.IntN(int(numTimeFormats)-1))
		offset = offsets[g.r.IntN(len(offsets))]
	case KindPadding:
		// Fields are padded below, once they all hold their text.
	case KindNullSession:
		g.set(6, g.pick(nullTexts), modePlain)
		want.SessionID = ""
	case KindNullName:
		g.set(3, g.pick(nullTexts), modePlain)
		want.ProductName = ""
	case KindPriceFormat:
		g.priceFormat(p)
	case KindBrokenCSV:
		g.brokenCSV(p)
	case KindMissingRequired:
		i := [4]int{0, 1, 2, 5}[g.r.IntN(4)]
		g.set(i, g.pick(nullTexts), modePlain)
		if i == 5 {
			return g.finish(dst, kind, want, -1, tf, offset)
		}
	case KindBadNumber:
		g.badNumber(s, p)
	case KindNegativePrice:
		b := append(g.own(4), '-')
		g.put(4, append(b, p.price...), modePlain)
	case KindPurchaseNoPrice:
		g.set(1, actionBytes[aPurchase], modePlain)
		g.set(4, g.pick(nullTexts), modePlain)
	case KindLongName:
		g.longName(p)
	case KindBadTime:
		g.put(5, g.badTime(g.own(5), ms), modePlain)
		return g.finish(dst, kind, want, -1, tf, offset)
	}
	return g.finish(dst, kind, want, ms, tf, offset)
}

// finish writes the event time (unless ms is -1: field 5 is set), pads,
// and joins the fields into dst.
func (g *Generator) finish(dst []byte, kind KindInfo, want Event, ms int64, tf timeFormat, offset int) ([]byte, Outcome) {
	if ms >= 0 {
		g.put(5, appendTime(g.own(5), ms, tf, offset), modePlain)
		if tf.keepsMillis() {
			want.EventTime = time.UnixMilli(ms).UTC()
		} else {
			want.EventTime = time.UnixMilli(ms - ms%1000).UTC()
		}
	}
	if kind.Name == KindPadding {
		for n := 1 + g.r.IntN(3); n > 0; n-- {
			g.pad(g.r.IntN(7))
		}
	}
	for i := 0; i < g.nf; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		f := &g.f[i]
		switch f.mode {
		case modePlain:
			dst = append(dst, f.b...)
		case modeQuote:
			dst = appendCSV(dst, f.b, true)
		case modeOpenQuote:
			dst = appendCSV(dst, f.b, true)
			dst = dst[:len(dst)-1]
		case modeSpaceOut:
			dst = appendCSV(dst, f.b, true)
			dst = append(dst, ' ')
		case modeSpaceIn:
			dst = append(dst, ' ')
			dst = appendCSV(dst, f.b, true)
		}
	}
	dst = append(dst, '\n')
	o := Outcome{Kind: kind.Name, Accept: kind.Accept, ErrorType: kind.ErrorType}
	if kind.Accept {
		o.Want = want
	}
	return dst, o
}

// pad puts white space around field i; a quoted name gets it inside its
// quotes, where the cleanser trims it as well.
func (g *Generator) pad(i int) {
	f := g.f[i]
	src := f.b
	if i == 3 && f.mode == modePlain && len(src) > 1 && src[0] == '"' {
		// The catalogue's quoted name: pad its text, then quote it again.
		g.tmp = unquote(g.tmp[:0], src)
		src, f.mode = g.tmp, modeQuote
	}
	b := append(g.tmp2[:0], g.pick(paddings)...)
	b = append(b, src...)
	b = append(b, g.pick(paddings)...)
	g.tmp2 = b
	g.put(i, append(g.own(i), b...), f.mode)
}

// unquote appends the text of a quoted CSV field to dst.
func unquote(dst, q []byte) []byte {
	q = q[1 : len(q)-1]
	for len(q) > 0 {
		i := bytes.IndexByte(q, '"')
		if i < 0 {
			return append(dst, q...)
		}
		dst = append(dst, q[:i+1]...)
		q = q[i+2:]
	}
	return dst
}

// priceFormat writes the price with other decimals.
func (g *Generator) priceFormat(p *Product) {
	b := g.own(4)
	dollars, cents := p.cents/100, p.cents%100
	switch v := g.r.IntN(3); {
	case v == 0 && cents == 0:
		b = strconv.AppendInt(b, dollars, 10)
		if g.r.IntN(2) == 0 {
			b = append(b, ".0"...)
		}
	case v == 0 && cents%10 == 0:
		b = strconv.AppendInt(b, dollars, 10)
		b = append(b, '.', byte('0'+cents/10))
	case v == 1:
		b = append(b, '0')
		b = append(b, p.price...)
	default:
		b = append(b, p.price...)
		b = append(b, '0')
	}
	g.put(4, b, modePlain)
}

// brokenCSV breaks the line's CSV.
func (g *Generator) brokenCSV(p *Product) {
	name := []byte(p.Name)
	switch g.r.IntN(6) {
	case 0: // unterminated quote
		g.set(3, name, modeOpenQuote)
	case 1: // the last field missing
		g.nf = 6
	case 2: // a trailing comma: one field too many
		g.set(7, nil, modePlain)
		g.nf = 8
	case 3: // the name not quoted: a comma makes a field too many, a quote is stray
		if !p.quote {
			name = append(append(g.own(3), name...), ", Refurbished"...)
			g.put(3, name, modePlain)
		} else {
			g.set(3, name, modePlain)
		}
	case 4: // a space after the closing quote
		g.set(3, name, modeSpaceOut)
	default: // a space before the opening quote
		g.set(3, name, modeSpaceIn)
	}
}

// badNumber writes a price or an id that is not a number.
func (g *Generator) badNumber(s *session, p *Product) {
	switch g.r.IntN(3) {
	case 0:
		b := g.own(4)
		mode := uint8(modePlain)
		switch g.r.IntN(7) {
		case 0:
			b = append(b, "abc"...)
		case 1: // three decimals, the last not 0: never rounded
			b = append(b, p.price...)
			b = append(b, byte('1'+g.r.IntN(9)))
		case 2: // decimal comma
			b = strconv.AppendInt(b, p.cents/100, 10)
			b = append(b, ',')
			b = append(b, p.price[len(p.price)-2:]...)
			mode = modeQuote
		case 3:
			b = append(b, '$')
			b = append(b, p.price...)
		case 4:
			b = append(b, p.price...)
			b = append(b, " USD"...)
		case 5: // eleven digits before the point: too many for NUMERIC(12,2)
			b = append(b, "12345678901.00"...)
		default:
			b = append(b, "free"...)
		}
		g.put(4, b, mode)
	case 1:
		b := g.own(0)
		switch g.r.IntN(4) {
		case 0:
			b = append(b, 'u')
			b = strconv.AppendInt(b, s.user, 10)
		case 1:
			b = strconv.AppendInt(b, s.user, 10)
			b = append(b, ".5"...)
		case 2: // beyond int64
			b = append(b, "92233720368547758070"...)
		default:
			b = append(b, '#')
			b = strconv.AppendInt(b, s.user, 10)
		}
		g.put(0, b, modePlain)
	default:
		b := g.own(2)
		switch g.r.IntN(3) {
		case 0:
			b = append(b, "SKU-"...)
			b = append(b, p.id...)
		case 1:
			b = append(b, p.id...)
			b = append(b, ".0"...)
		default:
			b = append(b, p.id...)
			b = append(b, 'x')
		}
		g.put(2, b, modePlain)
	}
}

// longWords lengthen names past 100 characters.
var longWords = []string{"with", "extra-long", "premium", "warranty", "bundle", "edition",
	"limited", "free", "shipping", "gift", "wrapped", "for", "home", "office", "and", "travel", "–", "™", "crème"}

// longName writes a name of 101 to 160 characters.
func (g *Generator) longName(p *Product) {
	target := MaxNameLength + 1 + g.r.IntN(60)
	b := append(g.own(3), p.Name...)
	n := utf8.RuneCount(b)
	for n < target {
		w := longWords[g.r.IntN(len(longWords))]
		b = append(b, ' ')
		b = append(b, w...)
		n += 1 + utf8.RuneCountInString(w)
	}
	mode := uint8(modePlain)
	if p.quote {
		mode = modeQuote
	}
	g.put(3, b, mode)
}

// badTimeWords are event times no format reads (and none of them a null
// value, which would be MISSING_REQUIRED).
var badTimeWords = bs("yesterday", "tomorrow", "not a date", "TBD", "soon", "2024-03-01 at noon", "--", "0000-00-00 00:00:00")

// badTime appends an event time the pipeline refuses, near ms.
func (g *Generator) badTime(b []byte, ms int64) []byte {
	days := floorDiv(ms, 86400000)
	y, _, d := civil(days)
	switch g.r.IntN(8) {
	case 0:
		return append(b, g.pick(badTimeWords)...)
	case 1: // no such month, day, hour or minute
		b = append4(b, y)
		return append(b, "-13-45 25:61:00"...)
	case 2: // no February 30th
		b = append4(b, y)
		b = append(b, "-02-30 "...)
		g.tmp = appendTime(g.tmp[:0], ms, tfSpace, 0)
		return append(b, g.tmp[11:]...)
	case 3: // day first: refused when the day is past 12
		if d > 12 {
			s := appendTime(g.tmp[:0], ms, tfMonthFirst, 0) // MM/DD/YYYY hh:mm:ss
			g.tmp = s
			b = append(b, s[3:5]...)
			b = append(b, '/')
			b = append(b, s[0:2]...)
			return append(b, s[5:]...)
		}
		b = append4(b, y)
		return append(b, "-00-10 10:00:00"...)
	case 4: // before 2000
		b = append(b, "1999-12-31 23:59:"...)
		return append2(b, g.r.IntN(60))
	case 5: // the epoch, as unix seconds
		return append(b, '0')
	case 6: // far in the future
		return appendTime(b, ms+100*365*86400000, tfClean, 0)
	default: // microseconds: too many digits for unix_ms
		return strconv.AppendInt(b, ms*1000+int64(g.r.IntN(1000)), 10)
	}
}
