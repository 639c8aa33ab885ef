package main

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

const bearerHeader = "x-amz-chime-bearer"

// goType is the Go type of a member that refers to shape name.
func (a *api) goType(name string) string {
	s := a.shapes[name]
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return name
		}
		return "*string"
	case "integer", "long":
		return "*int32"
	case "boolean":
		if strings.HasPrefix(name, "NonNullable") {
			return "bool"
		}
		return "*bool"
	case "timestamp":
		return "*Time"
	case "structure":
		return "*" + name
	case "list":
		return "[]" + a.elemType(s.Member.Shape)
	case "map":
		return "map[string]" + a.elemType(s.Value.Shape)
	}
	panic("unsupported shape type " + s.Type + " of " + name)
}

// elemType is the Go type of a list element or map value: values, not pointers.
func (a *api) elemType(name string) string {
	t := a.goType(name)
	switch t {
	case "*string":
		return "string"
	case "*int32":
		return "int32"
	case "*bool":
		return "bool"
	case "*Time":
		return "Time"
	}
	return strings.TrimPrefix(t, "*")
}

var tagRE = regexp.MustCompile(`<[^>]+>`)

// docLine turns model documentation into a one-paragraph Go comment body.
func docLine(doc string) string {
	s := html.UnescapeString(tagRE.ReplaceAllString(doc, " "))
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (g *gen) doc(name, doc string) {
	if d := docLine(doc); d != "" {
		g.p("// %s: %s", name, d)
	} else {
		g.p("// %s is a shape of the Chime SDK API.", name)
	}
}

func exported(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			b.WriteRune(unicode.ToUpper(r))
			up = false
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// inputShapes is every shape reachable from an operation input: those get validators.
func (a *api) inputShapes() map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, r := range a.shapes[n].refs() {
			walk(r.Shape)
		}
	}
	for _, o := range a.ops {
		if o.Input != nil {
			walk(o.Input.Shape)
		}
	}
	return seen
}

func emitTypes(a *api, g *gen) {
	outputs := map[string]bool{}
	for _, o := range a.ops {
		if o.Output != nil {
			outputs[o.Output.Shape] = true
		}
	}
	g.p("")
	g.p("import \"context\"")
	g.p("")
	for _, name := range a.sortedShapeNames() {
		s := a.shapes[name]
		switch {
		case s.Exception:
			continue
		case s.Type == "string" && len(s.Enum) > 0:
			g.doc(name, s.Doc)
			g.p("type %s string", name)
			g.p("")
			g.p("// Values of %s.", name)
			g.p("const (")
			for _, v := range s.Enum {
				g.p("%s%s %s = %q", name, exported(v), name, v)
			}
			g.p(")")
			g.p("")
			g.p("var values%s = []string{", name)
			for _, v := range s.Enum {
				g.p("%q,", v)
			}
			g.p("}")
			g.p("")
			g.p("// Values returns the values the model allows for %s; callers must not modify it.", name)
			g.p("func (%s) Values() []string { return values%s }", name, name)
			g.p("")
		case s.Type == "structure":
			g.doc(name, s.Doc)
			g.p("type %s struct {", name)
			for _, m := range sortedMembers(s) {
				r := s.Members[m]
				t := a.goType(r.Shape)
				if d := docLine(r.Doc); d != "" {
					g.p("// %s", d)
				}
				tag := fmt.Sprintf(`json:"%s,omitempty"`, m)
				switch {
				case r.Location != "":
					tag = fmt.Sprintf(`json:"-" location:"%s" locationName:"%s"`, r.Location, r.LocationName)
				case t == "bool", outputs[name] && strings.HasPrefix(t, "[]"):
					tag = fmt.Sprintf(`json:"%s"`, m)
				}
				g.p("%s %s `%s`", m, t, tag)
			}
			g.p("}")
			g.p("")
			if outputs[name] {
				g.p("// SetEmptyLists makes nil lists empty: AWS answers [] for an empty")
				g.p("// list, and clients index into it without checking.")
				g.p("func (s *%s) SetEmptyLists() {", name)
				for _, m := range sortedMembers(s) {
					if t := a.goType(s.Members[m].Shape); strings.HasPrefix(t, "[]") {
						g.p("if s.%s == nil { s.%s = %s{} }", m, m, t)
					}
				}
				g.p("}")
				g.p("")
			}
		}
	}

	// The API: one method per operation.
	g.p("// API is the whole Chime SDK Identity and Messaging surface, one method per")
	g.p("// operation. The service implements it; the transport calls it. Errors should")
	g.p("// be *Error values; anything else is reported to the client as a ServiceFailure.")
	g.p("type API interface {")
	for _, o := range a.ops {
		g.doc(o.Name, o.Doc)
		g.p("%s(ctx context.Context, in *%s) %s", o.Name, o.Input.Shape, resultType(o))
	}
	g.p("}")
	g.p("")
	g.p("// Unimplemented answers every operation with NotImplementedException. Embed it")
	g.p("// in an API implementation so operations not built yet fail clearly, never with")
	g.p("// a fake success.")
	g.p("type Unimplemented struct{}")
	g.p("")
	for _, o := range a.ops {
		g.p("// %s reports that the operation is not implemented yet.", o.Name)
		if o.output != nil {
			g.p("func (Unimplemented) %s(context.Context, *%s) (*%s, error) { return nil, notImplemented(Op%s) }", o.Name, o.Input.Shape, o.Output.Shape, o.Name)
		} else {
			g.p("func (Unimplemented) %s(context.Context, *%s) error { return notImplemented(Op%s) }", o.Name, o.Input.Shape, o.Name)
		}
	}
}

func resultType(o *mergedOp) string {
	if o.output == nil {
		return "error"
	}
	return fmt.Sprintf("(*%s, error)", o.Output.Shape)
}

func emitOperations(a *api, g *gen) {
	g.p("")
	g.p("// Operation descriptors, one per operation of either service (the tag")
	g.p("// operations are shared by both).")
	g.p("var (")
	for _, o := range a.ops {
		bearer := "BearerNone"
		if o.input != nil {
			if r, ok := o.input.Members["ChimeBearer"]; ok && r.LocationName == bearerHeader {
				bearer = "BearerOptional"
				if o.input.isRequired("ChimeBearer") {
					bearer = "BearerRequired"
				}
			}
		}
		var svcs []string
		for _, s := range o.services {
			svcs = append(svcs, "Service"+s)
		}
		g.p("Op%s = &Operation{Name: %q, Services: %s, Method: %q, Path: %q, QueryKey: %q, QueryValue: %q, SuccessStatus: %d, Bearer: %s, HasOutput: %v}",
			o.Name, o.Name, strings.Join(svcs, "|"), o.HTTP.Method, o.path, o.queryKey, o.queryVal, o.HTTP.ResponseCode, bearer, o.output != nil)
	}
	g.p(")")
	g.p("")
	g.p("// Operations lists every operation, sorted by name.")
	g.p("var Operations = []*Operation{")
	for _, o := range a.ops {
		g.p("Op%s,", o.Name)
	}
	g.p("}")
	g.p("")
	// Exception kinds, their HTTP status and wire code, from the models.
	var exc []string
	for _, n := range a.sortedShapeNames() {
		if a.shapes[n].Exception {
			exc = append(exc, n)
		}
	}
	errorCodes := map[string]bool{}
	for _, v := range a.shapes["ErrorCode"].Enum {
		errorCodes[v] = true
	}
	g.p("// Exception kinds the models declare.")
	g.p("const (")
	for _, n := range exc {
		g.p("%s ErrorKind = %q", strings.TrimSuffix(n, "Exception"), n)
	}
	g.p(")")
	g.p("")
	g.p("// modelExceptions maps each modeled exception to its HTTP status and the")
	g.p("// ErrorCode value sent as the body's Code.")
	g.p("var modelExceptions = map[ErrorKind]exceptionInfo{")
	for _, n := range exc {
		code := strings.TrimSuffix(n, "Exception")
		if !errorCodes[code] {
			code = strings.TrimSuffix(code, "Client")
		}
		if !errorCodes[code] {
			panic("no ErrorCode for " + n)
		}
		g.p("%s: {Status: %d, Code: %q, Fault: %v},", strings.TrimSuffix(n, "Exception"), a.shapes[n].Error.HTTPStatusCode, code, a.shapes[n].Fault)
	}
	g.p("}")
}

func emitValidators(a *api, g *gen) {
	g.p("")
	g.p("import \"regexp\"")
	g.p("")
	reachable := a.inputShapes()
	names := a.sortedShapeNames()
	// rules for constrained scalar shapes
	g.p("var (")
	for _, n := range names {
		s := a.shapes[n]
		if !reachable[n] {
			continue
		}
		switch s.Type {
		case "string":
			if len(s.Enum) > 0 || (s.Min == nil && s.Max == nil && s.Pattern == "") {
				continue
			}
			re, fast := "nil", "nil"
			if s.Pattern != "" {
				re = fmt.Sprintf("regexp.MustCompile(%s)", strconv.Quote(goPattern(s.Pattern)))
				fast = fmt.Sprintf("fastMatcher(%q)", s.Pattern)
			}
			g.p("rule%s = stringRule{min: %d, max: %d, pattern: %s, source: %q, fast: %s}", n, deref(s.Min, 0), deref(s.Max, -1), re, s.Pattern, fast)
		case "integer", "long", "list", "map":
			if s.Min == nil && s.Max == nil {
				continue
			}
			g.p("rule%s = sizeRule{min: %d, max: %d}", n, deref(s.Min, -1<<31), deref(s.Max, 1<<31-1))
		}
	}
	g.p(")")
	g.p("")

	inputs := map[string]bool{}
	for _, o := range a.ops {
		inputs[o.Input.Shape] = true
	}
	for _, n := range names {
		s := a.shapes[n]
		if !reachable[n] || s.Type != "structure" {
			continue
		}
		if inputs[n] {
			g.p("// Validate checks every constraint of the model on s: required members,")
			g.p("// lengths, patterns, enums, ranges and list and map sizes.")
			g.p("func (s *%s) Validate() error {", n)
			g.p("v := new(validator)")
			g.p("s.validate(v, \"\")")
			g.p("return v.err()")
			g.p("}")
			g.p("")
			if r, ok := s.Members["ChimeBearer"]; ok && r.LocationName == bearerHeader {
				g.p("// Bearer returns the x-amz-chime-bearer the request acts as, or \"\".")
				g.p("func (s *%s) Bearer() string { return deref(s.ChimeBearer) }", n)
				g.p("")
			}
		}
		g.p("func (s *%s) validate(v *validator, path string) {", n)
		for _, m := range sortedMembers(s) {
			a.emitMemberCheck(g, s, m)
		}
		g.p("}")
		g.p("")
	}
}

func (a *api) emitMemberCheck(g *gen, s *shape, m string) {
	r := s.Members[m]
	ms := a.shapes[r.Shape]
	field := "s." + m
	if r.LocationName == bearerHeader {
		g.p("v.bearer(%s, %v)", field, s.isRequired(m))
		return
	}
	absent, present := field+" == nil", field+" != nil"
	if len(ms.Enum) > 0 {
		absent, present = field+` == ""`, field+` != ""`
	}
	check := a.valueCheck(r.Shape, field, "path", fmt.Sprintf("%q", m), false)
	required := s.isRequired(m) && a.goType(r.Shape) != "bool"
	switch {
	case required && check != "":
		g.p("if %s {\nv.missing(path, %q)\n} else {\n%s\n}", absent, m, check)
	case required:
		g.p("if %s { v.missing(path, %q) }", absent, m)
	case check != "":
		g.p("if %s {\n%s\n}", present, check)
	}
}

// valueCheck returns the statements validating val, a present value of shape
// name at path+member ("" when the shape has no constraints).
func (a *api) valueCheck(name, val, path, member string, elem bool) string {
	s := a.shapes[name]
	deref := val
	if !elem && (a.goType(name) == "*string" || a.goType(name) == "*int32") {
		deref = "*" + val
	}
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return fmt.Sprintf("v.enum(%s, %s, string(%s), %s(\"\").Values())", path, member, val, name)
		}
		if s.Min != nil || s.Max != nil || s.Pattern != "" {
			return fmt.Sprintf("v.str(%s, %s, %s, rule%s)", path, member, deref, name)
		}
	case "integer", "long":
		if s.Min != nil || s.Max != nil {
			return fmt.Sprintf("v.num(%s, %s, int64(%s), rule%s)", path, member, deref, name)
		}
	case "structure":
		suffix, _ := strconv.Unquote(member)
		return fmt.Sprintf("%s.validate(v, %s+%q)", val, path, suffix+".")
	case "list", "map":
		var b strings.Builder
		if s.Min != nil || s.Max != nil {
			fmt.Fprintf(&b, "v.size(%s, %s, len(%s), rule%s)\n", path, member, val, name)
		}
		if s.Type == "list" {
			elem := a.valueCheck(s.Member.Shape, val+"[i]", fmt.Sprintf("elemPath(%s, %s, i)", path, member), `""`, true)
			if elem != "" {
				fmt.Fprintf(&b, "for i := range %s {\n%s\n}", val, elem)
			}
		} else {
			ep := fmt.Sprintf("elemPath(%s, %s, k)", path, member)
			key := a.valueCheck(s.Key.Shape, "k", ep, `""`, true)
			value := a.valueCheck(s.Value.Shape, "e", ep, `""`, true)
			if key != "" || value != "" {
				fmt.Fprintf(&b, "for k, e := range %s {\n%s\n%s\n}", val, key, value)
			}
		}
		return strings.TrimSpace(b.String())
	}
	return ""
}

// goPattern translates a model (Java) regular expression into an anchored RE2
// expression: \uXXXX escapes become \x{XXXX}, and the model's \u10000-\u10FFFF
// (meant as the supplementary planes) keeps that meaning.
func goPattern(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) && p[i+1] == 'u' {
			j := i + 2
			for j < len(p) && j-(i+2) < 6 && strings.IndexByte("0123456789abcdefABCDEF", p[j]) >= 0 {
				j++
			}
			fmt.Fprintf(&b, `\x{%s}`, p[i+2:j])
			i = j - 1
			continue
		}
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteString(p[i : i+2])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	s := strings.TrimSuffix(strings.TrimPrefix(b.String(), "^"), "$")
	// RE2 caps a repeat count at 1000; X{m,n} equals X{m,1000}X{0,n-1000}.
	s = bigRepeat.ReplaceAllStringFunc(s, func(r string) string {
		m := bigRepeat.FindStringSubmatch(r)
		lo, _ := strconv.Atoi(m[1])
		hi, _ := strconv.Atoi(m[2])
		if hi <= 1000 {
			return r
		}
		if lo > 1000 {
			panic("unsupported repeat " + r)
		}
		return fmt.Sprintf(".{%d,1000}.{0,%d}", lo, hi-1000)
	})
	return "^(?:" + s + ")$"
}

// bigRepeat finds a bounded repeat of '.', the only atom the models repeat
// more than RE2 allows.
var bigRepeat = regexp.MustCompile(`\.\{(\d+),(\d+)\}`)

func deref(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

func emitRoutes(a *api, g *gen) {
	g.p("")
	g.p("import (")
	g.p("\"context\"")
	g.p("")
	g.p("\"github.com/belfryhq/belfry/chime\"")
	g.p(")")
	g.p("")
	g.p("// routes maps every operation of both models to its handler. Paths are")
	g.p("// matched segment by segment on the escaped path, so ARNs with %%2F stay one")
	g.p("// label; the tag operations appear once, shared by both services.")
	g.p("var routes = []route{")
	for _, o := range a.ops {
		var segs []string
		for _, s := range strings.Split(strings.Trim(o.path, "/"), "/") {
			segs = append(segs, strconv.Quote(s))
		}
		g.p("{op: chime.Op%s, segments: []string{%s}, call: call%s},", o.Name, strings.Join(segs, ", "), o.Name)
	}
	g.p("}")
	g.p("")
	for _, o := range a.ops {
		in := o.input
		labels := map[string]int{}
		for i, s := range strings.Split(strings.Trim(o.path, "/"), "/") {
			if strings.HasPrefix(s, "{") {
				labels[strings.Trim(s, "{}")] = i
			}
		}
		g.p("func call%s(ctx context.Context, api chime.API, d *decoder) (any, error) {", o.Name)
		g.p("in := new(chime.%s)", o.Input.Shape)
		hasBody := false
		for _, m := range sortedMembers(in) {
			if in.Members[m].Location == "" {
				hasBody = true
			}
		}
		if hasBody {
			g.p("d.decodeBody(in)")
		}
		for _, m := range sortedMembers(in) {
			r := in.Members[m]
			ms := a.shapes[r.Shape]
			enum := len(ms.Enum) > 0
			switch r.Location {
			case "":
				continue
			case "uri":
				idx, ok := labels[r.LocationName]
				if !ok {
					panic(o.Name + ": no label " + r.LocationName)
				}
				g.p("in.%s = d.label(%d)", m, idx)
			case "querystring":
				switch {
				case enum:
					g.p("in.%s = chime.%s(d.queryEnum(%q))", m, r.Shape, r.LocationName)
				case ms.Type == "string":
					g.p("in.%s = d.queryString(%q)", m, r.LocationName)
				case ms.Type == "integer":
					g.p("in.%s = d.queryInt(%q, %q)", m, r.LocationName, m)
				case ms.Type == "timestamp":
					g.p("in.%s = d.queryTime(%q, %q)", m, r.LocationName, m)
				default:
					panic(o.Name + ": unsupported query member type " + ms.Type)
				}
			case "header":
				if ms.Type != "string" || enum {
					panic(o.Name + ": unsupported header member type")
				}
				g.p("in.%s = d.header(%q)", m, r.LocationName)
			default:
				panic(o.Name + ": unsupported location " + r.Location)
			}
		}
		g.p("if err := d.finish(in); err != nil { return nil, err }")
		if o.output != nil {
			g.p("return api.%s(ctx, in)", o.Name)
		} else {
			g.p("return nil, api.%s(ctx, in)", o.Name)
		}
		g.p("}")
		g.p("")
	}
}
