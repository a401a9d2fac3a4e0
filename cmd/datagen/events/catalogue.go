package events

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNameLength is the most characters a product name may have: the
// cleanser's max_length and the events table's VARCHAR(100).
const MaxNameLength = 100

// Product is one entry of the catalogue. The same product id always comes
// with the same name and price.
type Product struct {
	// ID is the product_id, 1001 upwards.
	ID int64 `json:"product_id"`
	// Name is the product name, at most MaxNameLength characters, never
	// empty; some hold commas, double quotes or non-ASCII letters.
	Name string `json:"product_name"`
	// Price is the price with two decimals, e.g. "19.99".
	Price string `json:"price"`

	cents   int64
	nameCSV []byte // Name as a CSV field: quoted when it must be
	quote   bool   // Name holds a comma or a double quote
	id      []byte // ID as text
	price   []byte // Price as text
}

// category is a kind of product: what it is called and what it costs.
type category struct {
	nouns        []string
	sizes        []string // variants after a comma
	lo, hi       float64  // price range in dollars
	inches       bool     // some names carry a size in inches, e.g. 27"
	nicknameable bool     // some names carry a nickname in quotes
}

var brands = []string{
	"Acme", "Nordlys", "Vantage", "Kestrel", "Bluefin", "Orchard & Pine", "Maison Lumière",
	"Tundra", "Halcyon", "Brightwater", "Copperleaf", "Sølvberg", "Zephyr", "Ironbark",
	"Meridian", "Parkside", "Northwind", "Café Olé", "Lumen", "Grünwald", "Atlas", "Saltmarsh",
}

var adjectives = []string{
	"Classic", "Premium", "Ultra-Light", "Compact", "Deluxe", "Everyday", "Pro", "Vintage",
	"Eco", "Smart", "Heavy-Duty", "Slim", "Organic", "Essential", "Signature", "Travel",
}

var nicknames = []string{"Trailblazer", "Dino", "Midnight", "Aurora", "Big Easy", "Rocket", "Cosy", "Nomad"}

var categories = []category{
	{nouns: []string{"Wireless Earbuds", "Bluetooth Speaker", "USB-C Charger", "Monitor", "Mechanical Keyboard",
		"Gaming Mouse", "Smartwatch", "Power Bank", "HDMI Cable", "Webcam", "Laptop Sleeve", "Tablet"},
		sizes: []string{"Black", "White", "Space Grey", "2-Pack", "65 W", "1 m", "2 m"}, lo: 9, hi: 899, inches: true},
	{nouns: []string{"Ceramic Mug", "Cast Iron Skillet", "Chef's Knife", "Throw Pillow", "Table Lamp",
		"Bath Towel Set", "French Press", "Wall Clock", "Cutting Board", "Crème Brûlée Torch", "Wine Glasses"},
		sizes: []string{"Set of 4", "Set of 2", "Navy Blue", "Sage", "350 ml", "500 ml", "Large", "Small"}, lo: 5, hi: 249},
	{nouns: []string{"T-Shirt", "Hoodie", "Running Shoes", "Rain Jacket", "Wool Socks", "Denim Jeans",
		"Baseball Cap", "Backpack", "Leather Belt", "Sneakers"},
		sizes: []string{"Size S", "Size M", "Size L", "Size XL", "Size 10", "Size 42", "3-Pack", "Olive"}, lo: 7, hi: 199, nicknameable: true},
	{nouns: []string{"Yoga Mat", "Water Bottle", "Camping Tent", "Sleeping Bag", "Trekking Poles",
		"Dumbbell Set", "Bike Helmet", "Headlamp"},
		sizes: []string{"1 L", "750 ml", "2-Person", "4-Person", "Red", "Blue", "10 kg", "20 kg"}, lo: 6, hi: 499, nicknameable: true},
	{nouns: []string{"Board Game", "Jigsaw Puzzle", "Building Blocks", "Plush Toy", "Art Set", "Kite"},
		sizes: []string{"1000 Pieces", "500 Pieces", "Ages 8+", "Ages 3+", "Deluxe Box"}, lo: 4, hi: 129, nicknameable: true},
	{nouns: []string{"Coffee Beans", "Green Tea", "Dark Chocolate", "Olive Oil", "Honey", "Granola"},
		sizes: []string{"250 g", "1 kg", "500 ml", "12-Pack", "Organic"}, lo: 2, hi: 59},
}

// newCatalogue builds n products from r: the same r state gives the same
// catalogue.
func newCatalogue(r *rand.Rand, n int) []Product {
	ps := make([]Product, n)
	var sb strings.Builder
	for i := range ps {
		c := &categories[r.IntN(len(categories))]
		sb.Reset()
		sb.WriteString(brands[r.IntN(len(brands))])
		sb.WriteByte(' ')
		switch u := r.Float64(); {
		case c.inches && u < 0.25:
			sb.WriteString(strconv.Itoa(10 + r.IntN(23)))
			if r.IntN(3) == 0 {
				sb.WriteString(".6")
			}
			sb.WriteString(`" `)
		case c.nicknameable && u < 0.15:
			sb.WriteByte('"')
			sb.WriteString(nicknames[r.IntN(len(nicknames))])
			sb.WriteString(`" `)
		case u < 0.6:
			sb.WriteString(adjectives[r.IntN(len(adjectives))])
			sb.WriteByte(' ')
		}
		sb.WriteString(c.nouns[r.IntN(len(c.nouns))])
		if r.IntN(10) < 4 {
			sb.WriteString(", ")
			sb.WriteString(c.sizes[r.IntN(len(c.sizes))])
		}
		name := sb.String()
		if utf8.RuneCountInString(name) > MaxNameLength { // cannot happen with these lists
			name = string([]rune(name)[:MaxNameLength])
		}
		ps[i] = newProduct(int64(1001+i), name, randomCents(r, c.lo, c.hi))
	}
	return ps
}

// newProduct fills in the texts of a product.
func newProduct(id int64, name string, cents int64) Product {
	p := Product{ID: id, Name: name, cents: cents}
	p.quote = strings.ContainsAny(name, ",\"")
	p.nameCSV = appendCSV(nil, []byte(name), p.quote)
	p.id = strconv.AppendInt(nil, id, 10)
	p.price = appendCents(nil, cents)
	p.Price = string(p.price)
	return p
}

// randomCents draws a price between lo and hi dollars, evenly on a log
// scale, with the endings shops use: .99 most often, then .00, .95, .50.
func randomCents(r *rand.Rand, lo, hi float64) int64 {
	ratio := hi / lo
	dollars := int64(lo * math.Pow(ratio, r.Float64()))
	var cents int64
	switch u := r.IntN(100); {
	case u < 50:
		cents = 99
	case u < 65:
		cents = 0
	case u < 75:
		cents = 95
	case u < 85:
		cents = 50
	case u < 90:
		cents = 90
	default:
		cents = int64(r.IntN(100))
	}
	if dollars == 0 && cents == 0 {
		cents = 99
	}
	return dollars*100 + cents
}

// appendCents appends cents as a decimal with two places: 1999 -> "19.99".
func appendCents(dst []byte, cents int64) []byte {
	if cents < 0 {
		dst = append(dst, '-')
		cents = -cents
	}
	dst = strconv.AppendInt(dst, cents/100, 10)
	c := cents % 100
	return append(dst, '.', byte('0'+c/10), byte('0'+c%10))
}

// appendCSV appends v as a CSV field: quoted, with doubled quotes, when
// quote is set.
func appendCSV(dst, v []byte, quote bool) []byte {
	if !quote {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}
