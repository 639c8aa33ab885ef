// Package httpapi is the REST transport of both Chime SDK APIs: it routes
// signed requests to operations, decodes and validates their inputs, calls
// the chime.API implementation and writes AWS-shaped responses and errors.
// The route table and per-operation decoders are generated (routes_gen.go).
package httpapi

import (
	"context"
	"strings"

	"github.com/belfryhq/belfry/chime"
)

// route binds one operation to its path template, split into segments;
// "{name}" segments are labels.
type route struct {
	op       *chime.Operation
	segments []string
	call     func(context.Context, chime.API, *decoder) (any, error)
}

// router finds the operation for a method, escaped path and query.
type router struct {
	byMethod map[string][]*route
}

func newRouter(rs []route) *router {
	rt := &router{byMethod: map[string][]*route{}}
	for i := range rs {
		r := &rs[i]
		rt.byMethod[r.op.Method] = append(rt.byMethod[r.op.Method], r)
	}
	return rt
}

// splitPath splits an escaped path into its segments. Labels are never
// greedy in these models, so an escaped "/" (%2F) stays inside its segment.
func splitPath(escaped string) []string { return splitPathInto(nil, escaped) }

// splitPathInto is splitPath appending to dst, which saves the allocation
// when dst has room for every segment.
func splitPathInto(dst []string, escaped string) []string {
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return nil
	}
	for {
		seg, rest, more := strings.Cut(escaped, "/")
		dst = append(dst, seg)
		if !more {
			return dst
		}
		escaped = rest
	}
}

// match returns the route for the request. Where several operations share a
// method and path (e.g. GET /channels/{arn} and its ?scope= variants), the one
// whose query discriminator the request carries wins, else the plain one.
func (rt *router) match(method string, segs []string, query func(string) (string, bool)) *route {
	var plain *route
	for _, r := range rt.byMethod[method] {
		if !segmentsMatch(r.segments, segs) {
			continue
		}
		if r.op.QueryKey == "" {
			plain = r
			continue
		}
		if v, ok := query(r.op.QueryKey); ok && v == r.op.QueryValue {
			return r
		}
	}
	return plain
}

func segmentsMatch(tmpl, segs []string) bool {
	if len(tmpl) != len(segs) {
		return false
	}
	for i, t := range tmpl {
		if t != segs[i] && !strings.HasPrefix(t, "{") {
			return false
		}
	}
	return true
}

// knownPath reports whether any operation has this path, whatever the method,
// so a wrong method gets a clearer message than an unknown path.
func (rt *router) knownPath(segs []string) bool {
	for _, rs := range rt.byMethod {
		for _, r := range rs {
			if segmentsMatch(r.segments, segs) {
				return true
			}
		}
	}
	return false
}
