package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/belfryhq/belfry/chime"
)

// decoder fills one operation input from the request: body members from the
// JSON body, the rest from path labels, the query string and headers. It
// collects problems instead of stopping at the first, and finish reports them
// as one BadRequestException before validation runs.
type decoder struct {
	r        *http.Request
	body     []byte
	segments []string
	query    url.Values
	problems []string
	op       *chime.Operation
}

func (d *decoder) problem(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// decodeBody unmarshals the JSON body into in. An empty body is an empty
// object: SDKs send none when every body member is absent.
func (d *decoder) decodeBody(in any) {
	if len(bytes.TrimSpace(d.body)) == 0 {
		return
	}
	if sm, ok := in.(stringMembers); ok {
		if decodeFlat(d.body, sm) {
			d.refuseFixedMembers()
			return
		}
		resetInput(in)
	}
	// A body json.Unmarshal accepts is one JSON value with nothing but
	// space after it, which is just what the Decoder path below accepts,
	// with the same result; Unmarshal gets there with less garbage. Any
	// failure takes the Decoder path, whose messages clients see.
	if json.Unmarshal(d.body, in) == nil {
		d.refuseFixedMembers()
		return
	}
	dec := json.NewDecoder(bytes.NewReader(d.body))
	if err := dec.Decode(in); err != nil {
		d.problems = append(d.problems, jsonProblem(err))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		d.problem("The request body must be a single JSON object; found data after it.")
	}
	d.refuseFixedMembers()
}

// fixedMembers are members of a resource that its update operation does not
// model because they can never change. Unknown members are otherwise
// ignored, as AWS does, but a client that sends one of these means to
// change what cannot be changed, and silently ignoring that would leave it
// believing it succeeded.
var fixedMembers = map[string][]string{
	"UpdateChannel": {"ElasticChannelConfiguration", "Privacy"},
}

func (d *decoder) refuseFixedMembers() {
	names := fixedMembers[d.op.Name]
	if len(names) == 0 {
		return
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(d.body, &body) != nil {
		return
	}
	for _, n := range names {
		if _, ok := body[n]; ok {
			d.problem("%s cannot be updated: it is fixed when the channel is created.", n)
		}
	}
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return "The request body must be a JSON object, not " + typeErr.Value + "."
		}
		return fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must be of type %s, not %s.", typeErr.Field, jsonTypeName(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("The request body is not valid JSON (at byte %d): %v.", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The request body is not valid JSON: it ends early."
	}
	return "The request body could not be read as JSON: " + err.Error() + "."
}

func jsonTypeName(goType string) string {
	switch goType {
	case "string", "*string":
		return "string"
	case "int32", "*int32":
		return "integer"
	case "bool", "*bool":
		return "boolean"
	}
	if len(goType) > 0 && (goType[0] == '[') {
		return "list"
	}
	if len(goType) > 3 && goType[:3] == "map" {
		return "map"
	}
	return "structure"
}

func (d *decoder) label(i int) *string {
	v, err := url.PathUnescape(d.segments[i])
	if err != nil {
		d.problem("Path segment %q is not validly percent-encoded.", d.segments[i])
		return nil
	}
	return &v
}

func (d *decoder) queryValue(name string) (string, bool) {
	vs, ok := d.query[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (d *decoder) queryString(name string) *string {
	if v, ok := d.queryValue(name); ok {
		return &v
	}
	return nil
}

func (d *decoder) queryEnum(name string) string {
	v, _ := d.queryValue(name)
	return v
}

func (d *decoder) queryInt(name, member string) *int32 {
	v, ok := d.queryValue(name)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		d.problem("Value at '%s' failed to satisfy constraint: Member must be an integer (query parameter %s).", member, name)
		return nil
	}
	i := int32(n)
	return &i
}

func (d *decoder) queryTime(name, member string) *chime.Time {
	v, ok := d.queryValue(name)
	if !ok {
		return nil
	}
	t, err := chime.ParseQueryTime(v)
	if err != nil {
		d.problem("Value at '%s' failed to satisfy constraint: Member must be an ISO-8601 timestamp (query parameter %s).", member, name)
		return nil
	}
	return &chime.Time{Time: t}
}

func (d *decoder) header(name string) *string {
	key := hdrBearer // the only header member of these APIs
	if name != "x-amz-chime-bearer" {
		key = http.CanonicalHeaderKey(name)
	}
	vs := d.r.Header[key]
	if len(vs) == 0 {
		return nil
	}
	return &vs[0]
}

// finish reports decoding problems, then the model's constraints. Whether
// the caller's credential may make the call is the service's check.
func (d *decoder) finish(in interface{ Validate() error }) error {
	if len(d.problems) > 0 {
		return chime.Errorf(chime.BadRequest, "%s", joinProblems(d.problems))
	}
	return in.Validate()
}

func joinProblems(ps []string) string {
	if len(ps) == 1 {
		return ps[0]
	}
	s := strconv.Itoa(len(ps)) + " problems with the request: "
	for i, p := range ps {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	return s
}
