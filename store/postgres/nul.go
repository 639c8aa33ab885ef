package postgres

import (
	"database/sql"
	"strings"

	"github.com/belfryhq/belfry/store/sqlstore"
)

// PostgreSQL's text cannot hold U+0000, which the API's string fields
// (message content, metadata, names) may carry and the SQLite store keeps.
// So that both engines store the same strings, the querier escapes every
// string argument on its way in and unescapes every scanned string on its
// way out: NUL becomes nulEscape followed by '0', and nulEscape itself
// nulEscape followed by '1'. A string without either is passed as it is,
// which is every string but a handful. nulEscape is U+FFFF, a Unicode
// noncharacter: valid UTF-8, so PostgreSQL stores it, and not meant to
// appear in interchanged text, so escaping it costs nothing in practice.
//
// Equality and uniqueness are kept (the mapping is injective); sorting and
// byte length are not for the strings that change, which only matters for
// strings holding NUL or U+FFFF, ordered by name.
const nulEscape = "\uFFFF"

// needsEscape reports whether s must be escaped to be stored.
func needsEscape(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || strings.Contains(s, nulEscape)
}

var (
	escaper   = strings.NewReplacer(nulEscape, nulEscape+"1", "\x00", nulEscape+"0")
	unescaper = strings.NewReplacer(nulEscape+"1", nulEscape, nulEscape+"0", "\x00")
)

// escapeNUL returns s as it is stored.
func escapeNUL(s string) string {
	if !needsEscape(s) {
		return s
	}
	return escaper.Replace(s)
}

// unescapeNUL returns the string that s, as stored, stands for.
func unescapeNUL(s string) string {
	if !strings.Contains(s, nulEscape) {
		return s
	}
	return unescaper.Replace(s)
}

// escapeArgs returns args with their strings escaped; args itself when
// none needs it, which is the rule.
func escapeArgs(args []any) []any {
	var out []any
	for i, a := range args {
		var v any
		switch a := a.(type) {
		case string:
			if !needsEscape(a) {
				continue
			}
			v = escapeNUL(a)
		case *string:
			if a == nil || !needsEscape(*a) {
				continue
			}
			v = escapeNUL(*a)
		case sql.NullString:
			if !a.Valid || !needsEscape(a.String) {
				continue
			}
			v = sql.NullString{String: escapeNUL(a.String), Valid: true}
		default:
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = v
	}
	if out == nil {
		return args
	}
	return out
}

// unescapeDest unescapes the strings that a Scan into dest stored.
func unescapeDest(dest []any) {
	for _, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = unescapeNUL(*d)
		case *sql.NullString:
			d.String = unescapeNUL(d.String)
		}
	}
}

// nulRows unescapes the strings of a query's rows.
type nulRows struct{ sqlstore.Rows }

func (r nulRows) Scan(dest ...any) error {
	err := r.Rows.Scan(dest...)
	if err == nil {
		unescapeDest(dest)
	}
	return err
}
