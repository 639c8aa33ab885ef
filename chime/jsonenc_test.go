package chime

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

type appendJSONer interface{ AppendJSON([]byte) []byte }

// outputTypes are the response types of every operation of the API.
func outputTypes() []reflect.Type {
	var out []reflect.Type
	api := reflect.TypeFor[API]()
	for i := range api.NumMethod() {
		m := api.Method(i).Type
		if m.NumOut() == 2 && m.Out(0).Kind() == reflect.Pointer {
			out = append(out, m.Out(0).Elem())
		}
	}
	return out
}

// awkward strings: everything encoding/json escapes or replaces.
var awkward = []string{
	"", "plain", `quote " and \ backslash`, "<tag> & amp", "\x00\x01\x1f\b\f\n\r\t", "héllo wörld ✓ 🎉",
	"line\u2028sep\u2029para", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate", "\u007f del", strings.Repeat("x", 300),
}

// fill sets v (addressable) to random content: pointers nil or set,
// slices and maps nil, empty or filled, strings from awkward.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if r.IntN(4) == 0 || depth > 6 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(r, v.Elem(), depth+1)
	case reflect.String:
		v.SetString(awkward[r.IntN(len(awkward))])
	case reflect.Int32, reflect.Int64:
		v.SetInt(r.Int64N(1<<31) - 1<<30)
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Slice:
		switch r.IntN(3) {
		case 0:
			return
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(3)
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				fill(r, v.Index(i), depth+1)
			}
		}
	case reflect.Map:
		switch r.IntN(3) {
		case 0:
			return
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
		default:
			v.Set(reflect.MakeMap(v.Type()))
			for range 1 + r.IntN(4) {
				k := reflect.New(v.Type().Key()).Elem()
				fill(r, k, depth+1)
				e := reflect.New(v.Type().Elem()).Elem()
				fill(r, e, depth+1)
				v.SetMapIndex(k, e)
			}
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Time]() {
			ms := r.Int64N(4e12) - 1e12
			if r.IntN(3) == 0 {
				ms -= ms % 1000
			}
			v.Set(reflect.ValueOf(Time{time.UnixMilli(ms).UTC()}))
			return
		}
		for i := range v.NumField() {
			fill(r, v.Field(i), depth+1)
		}
	}
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	types := outputTypes()
	if len(types) < 50 {
		t.Fatalf("found only %d output types", len(types))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range types {
		for i := range 200 {
			p := reflect.New(typ)
			if i > 0 {
				fill(r, p.Elem(), 0)
			}
			want, err := json.Marshal(p.Interface())
			if err != nil {
				t.Fatalf("%s: Marshal: %v", typ, err)
			}
			got := p.Interface().(appendJSONer).AppendJSON([]byte("prefix"))
			if !bytes.Equal(got[len("prefix"):], want) {
				t.Fatalf("%s: AppendJSON differs from json.Marshal\n got %s\nwant %s", typ, got[len("prefix"):], want)
			}
		}
	}
}
