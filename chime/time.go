package chime

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp as rest-json carries it in bodies: a JSON number of
// seconds since the epoch, with a millisecond fraction. (The Go SDK rejects
// anything but a number; query strings use ISO-8601 and are parsed by the
// transport.)
type Time struct{ time.Time }

// NewTime returns t as a *Time truncated to milliseconds, the precision the
// wire carries.
func NewTime(t time.Time) *Time { return &Time{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes epoch seconds, e.g. 1650878984.123.
func (t Time) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, 24)), nil
}

// AppendJSON appends what MarshalJSON writes: the seconds, then the
// millisecond fraction without trailing zeros, if any.
func (t Time) AppendJSON(b []byte) []byte {
	ms := t.UnixMilli()
	b = strconv.AppendInt(b, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		if frac < 0 {
			frac = -frac
		}
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// UnmarshalJSON reads epoch seconds (integer or fractional).
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e11 {
		return fmt.Errorf("expected a timestamp as epoch seconds, got %s", truncate(string(b), 40))
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
	return nil
}

// ParseQueryTime reads a timestamp from a query string: ISO-8601 as the SDKs
// send it (with or without fractional seconds), or epoch seconds.
func ParseQueryTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	var t Time
	if err := t.UnmarshalJSON([]byte(s)); err == nil && s != "" && s != "null" {
		return t.Time, nil
	}
	return time.Time{}, fmt.Errorf("expected an ISO-8601 timestamp, got %q", truncate(s, 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
