package events

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// The kinds of row the generator writes. A row is clean or has exactly one
// kind of defect, so that what a correct pipeline does with it is never in
// doubt.
const (
	// KindClean is a row as it should be: canonical action, the catalogue's
	// name and price, an RFC 3339 UTC time with milliseconds, a session id.
	KindClean = "clean"

	// Accepted kinds: the cleanser repairs them.

	// KindActionSpelling spells the action another way that
	// configs/ecommerce.yaml maps ("Page View", "addToCart", "buy", "REMOVE").
	KindActionSpelling = "action_spelling"
	// KindUnknownAction writes an action no alias knows ("wishlist"); it is
	// kept as UNKNOWN.
	KindUnknownAction = "unknown_action"
	// KindTimeFormat writes the event time in another of the configured
	// formats (an offset, "2006/01/02 15:04:05", unix seconds...).
	KindTimeFormat = "time_format"
	// KindPadding puts spaces or tabs around one to three fields (inside
	// the quotes of a quoted name).
	KindPadding = "padding"
	// KindNullSession leaves session_id empty or spells it null, NULL, N/A
	// or none: stored as NULL.
	KindNullSession = "null_session"
	// KindNullName leaves product_name empty or spelled as null: stored as
	// NULL.
	KindNullName = "null_name"
	// KindPriceFormat writes the price with other decimals that mean the
	// same amount: "19.9", "19", "19.990", "019.99".
	KindPriceFormat = "price_format"

	// Rejected kinds, with the error type the pipeline gives them.

	// KindBrokenCSV is a line that is not one record of 7 fields: an
	// unterminated quote, a stray quote, or one field too few or too many
	// (CSV_PARSE_ERROR, from the csvdir source).
	KindBrokenCSV = "broken_csv"
	// KindMissingRequired leaves user_id, action, product_id or event_time
	// empty or null (MISSING_REQUIRED).
	KindMissingRequired = "missing_required"
	// KindBadNumber writes a price or an id that is no number of the
	// column's type: "abc", "19.997", "12,50", "u42" (INVALID_NUMBER).
	KindBadNumber = "bad_number"
	// KindNegativePrice writes the price negative (RULE_VIOLATION, rule
	// price_not_negative).
	KindNegativePrice = "negative_price"
	// KindPurchaseNoPrice is a PURCHASE without a price (RULE_VIOLATION,
	// rule purchase_has_price).
	KindPurchaseNoPrice = "purchase_no_price"
	// KindLongName writes a product name longer than 100 characters
	// (TOO_LONG).
	KindLongName = "long_name"
	// KindBadTime writes an event time no format reads, or one before
	// 2000-01-01 or far in the future (INVALID_TIMESTAMP).
	KindBadTime = "bad_time"
)

// Error types of the rejects, as the csvdir source and the cleanser name
// them.
const (
	ErrCSVParse         = "CSV_PARSE_ERROR"
	ErrMissingRequired  = "MISSING_REQUIRED"
	ErrInvalidNumber    = "INVALID_NUMBER"
	ErrRuleViolation    = "RULE_VIOLATION"
	ErrTooLong          = "TOO_LONG"
	ErrInvalidTimestamp = "INVALID_TIMESTAMP"
)

// KindInfo describes a defect kind.
type KindInfo struct {
	// Name is the kind, e.g. KindBadTime.
	Name string
	// Accept says whether a correct pipeline keeps the row.
	Accept bool
	// ErrorType is the reject's error type when Accept is false.
	ErrorType string
	// Default is the kind's share of rows by default.
	Default float64
	// Doc says what the kind writes, for --help.
	Doc string
}

// Kinds lists the defect kinds (every kind but KindClean), in the order the
// generator draws them.
var Kinds = []KindInfo{
	{KindActionSpelling, true, "", 0.020, `action spelled another way the config maps ("Page View", "addToCart", "buy")`},
	{KindUnknownAction, true, "", 0.003, `action no alias knows ("wishlist"): stored as UNKNOWN`},
	{KindTimeFormat, true, "", 0.020, "event_time in another configured format (offset, unix, 01/02/2006 ...)"},
	{KindPadding, true, "", 0.010, "spaces or tabs around 1-3 fields"},
	{KindNullSession, true, "", 0.010, "session_id empty or null/NULL/N/A/none: stored as NULL"},
	{KindNullName, true, "", 0.002, "product_name empty or null: stored as NULL"},
	{KindPriceFormat, true, "", 0.005, `price with other decimals, same amount ("19.9", "19", "19.990")`},
	{KindBrokenCSV, false, ErrCSVParse, 0.005, "unterminated or stray quote, or a field too few or too many"},
	{KindMissingRequired, false, ErrMissingRequired, 0.005, "user_id, action, product_id or event_time empty or null"},
	{KindBadNumber, false, ErrInvalidNumber, 0.005, `price or id not a number ("abc", "19.997", "u42")`},
	{KindNegativePrice, false, ErrRuleViolation, 0.003, "negative price (rule price_not_negative)"},
	{KindPurchaseNoPrice, false, ErrRuleViolation, 0.002, "PURCHASE without a price (rule purchase_has_price)"},
	{KindLongName, false, ErrTooLong, 0.003, "product_name over 100 characters"},
	{KindBadTime, false, ErrInvalidTimestamp, 0.007, `unparseable, pre-2000 or far-future event_time ("yesterday", "2024-13-45 25:61:00")`},
}

// LookupKind returns the description of a kind; KindClean is accepted.
func LookupKind(name string) (KindInfo, bool) {
	if name == KindClean {
		return KindInfo{Name: KindClean, Accept: true}, true
	}
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return KindInfo{}, false
}

// DefaultDirty is the share of defective rows with the default rates: the
// sum of Kinds' Default.
func DefaultDirty() float64 {
	sum := 0.0
	for _, k := range Kinds {
		sum += k.Default
	}
	return math.Round(sum*1e9) / 1e9
}

// DefaultRates returns the default rate of every kind.
func DefaultRates() map[string]float64 {
	return ScaleRates(DefaultDirty())
}

// ScaleRates returns the default rates scaled so that they add up to dirty:
// ScaleRates(0.05) makes about 5% of rows defective, in the default
// proportions.
func ScaleRates(dirty float64) map[string]float64 {
	f := dirty / DefaultDirty()
	m := make(map[string]float64, len(Kinds))
	for _, k := range Kinds {
		m[k.Name] = k.Default * f
	}
	return m
}

// checkRates reports a rate that is not a kind, not in [0,1], or rates
// adding up to more than 1.
func checkRates(rates map[string]float64) error {
	sum := 0.0
	names := make([]string, 0, len(rates))
	for name := range rates {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := rates[name]
		if k, ok := LookupKind(name); !ok || k.Name == KindClean {
			known := make([]string, len(Kinds))
			for i, k := range Kinds {
				known[i] = k.Name
			}
			return fmt.Errorf("rate of %q: no such kind (kinds: %s)", name, strings.Join(known, ", "))
		}
		if math.IsNaN(r) || r < 0 || r > 1 {
			return fmt.Errorf("rate of %s: %v is not between 0 and 1", name, r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("the rates add up to %.4f, more than 1", sum)
	}
	return nil
}
