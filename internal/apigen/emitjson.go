package main

import (
	"fmt"
	"strings"
)

// emitJSON writes an AppendJSON method for every structure: the bytes
// encoding/json's Marshal writes for it (members in declaration order,
// the same omitempty rules as the tags emitTypes writes, HTML-safe string
// escaping, map keys sorted), without reflection. The transport encodes
// responses with them.
func emitJSON(a *api, g *gen) {
	outputs := map[string]bool{}
	for _, o := range a.ops {
		if o.Output != nil {
			outputs[o.Output.Shape] = true
		}
	}
	g.p("")
	g.p("import (")
	g.p("\"maps\"")
	g.p("\"slices\"")
	g.p("\"strconv\"")
	g.p(")")
	g.p("")
	g.p("")
	for _, name := range a.sortedShapeNames() {
		s := a.shapes[name]
		if s.Exception || s.Type != "structure" {
			continue
		}
		g.p("// AppendJSON appends s as encoding/json's Marshal writes it.")
		g.p("func (s *%s) AppendJSON(b []byte) []byte {", name)
		g.p("b = append(b, '{')")
		members := 0
		for _, m := range sortedMembers(s) {
			if s.Members[m].Location == "" {
				members++
			}
		}
		if members > 0 {
			g.p("start := len(b)")
		}
		for _, m := range sortedMembers(s) {
			r := s.Members[m]
			if r.Location != "" {
				continue
			}
			t := a.goType(r.Shape)
			key := fmt.Sprintf("%q", fmt.Sprintf("%q:", m))
			field := "s." + m
			omitEmpty := !(t == "bool" || outputs[name] && strings.HasPrefix(t, "[]"))
			ms := a.shapes[r.Shape]
			switch {
			case strings.HasPrefix(t, "*"):
				g.p("if %s != nil {", field)
				g.p("b = appendJSONKey(b, start, %s)", key)
				g.p("%s", a.appendElem("*"+field, r.Shape))
				g.p("}")
			case t == "bool":
				g.p("b = appendJSONKey(b, start, %s)", key)
				g.p("b = strconv.AppendBool(b, %s)", field)
			case ms.Type == "string": // an enum
				g.p("if %s != \"\" {", field)
				g.p("b = appendJSONKey(b, start, %s)", key)
				g.p("b = appendJSONString(b, string(%s))", field)
				g.p("}")
			case ms.Type == "list" || ms.Type == "map":
				if omitEmpty {
					g.p("if len(%s) > 0 {", field)
				} else {
					g.p("{")
				}
				g.p("b = appendJSONKey(b, start, %s)", key)
				if !omitEmpty {
					g.p("if %s == nil { b = append(b, \"null\"...) } else {", field)
				}
				if ms.Type == "list" {
					g.p("b = append(b, '[')")
					g.p("for i := range %s {", field)
					g.p("if i > 0 { b = append(b, ',') }")
					g.p("%s", a.appendElem(field+"[i]", ms.Member.Shape))
					g.p("}")
					g.p("b = append(b, ']')")
				} else {
					g.p("b = append(b, '{')")
					g.p("for i, k := range slices.Sorted(maps.Keys(%s)) {", field)
					g.p("if i > 0 { b = append(b, ',') }")
					g.p("b = appendJSONString(b, k)")
					g.p("b = append(b, ':')")
					g.p("v := %s[k]", field)
					g.p("%s", a.appendElem("v", ms.Value.Shape))
					g.p("}")
					g.p("b = append(b, '}')")
				}
				if !omitEmpty {
					g.p("}")
				}
				g.p("}")
			default:
				panic(fmt.Sprintf("AppendJSON: unsupported member %s.%s of type %s", name, m, t))
			}
		}
		g.p("return append(b, '}')")
		g.p("}")
		g.p("")
	}
	emitJSONSetters(a, g)
}

// emitJSONSetters writes, for each operation input with body members of
// string shapes, a SetJSONString method: the transport's fast decoder for
// flat bodies hands it each member whose value is a plain JSON string,
// and falls back to encoding/json for anything else.
func emitJSONSetters(a *api, g *gen) {
	inputs := map[string]bool{}
	for _, o := range a.ops {
		if o.Input != nil {
			inputs[o.Input.Shape] = true
		}
	}
	for _, name := range a.sortedShapeNames() {
		if !inputs[name] {
			continue
		}
		s := a.shapes[name]
		var cases []string
		for _, m := range sortedMembers(s) {
			r := s.Members[m]
			ms := a.shapes[r.Shape]
			if r.Location != "" || ms.Type != "string" {
				continue
			}
			if len(ms.Enum) > 0 {
				cases = append(cases, fmt.Sprintf("case %q: s.%s = %s(val)", m, m, r.Shape))
			} else {
				cases = append(cases, fmt.Sprintf("case %q: s.%s = &val", m, m))
			}
		}
		if len(cases) == 0 {
			continue
		}
		g.p("// SetJSONString sets the body member named key (exactly) to the JSON")
		g.p("// string val, as encoding/json would; false if key is no string member.")
		g.p("func (s *%s) SetJSONString(key []byte, val string) bool {", name)
		g.p("switch string(key) {")
		for _, c := range cases {
			g.p("%s", c)
		}
		g.p("default: return false")
		g.p("}")
		g.p("return true")
		g.p("}")
		g.p("")
	}
}

// appendElem is the statement appending the value expr of shape name
// (a dereferenced pointer, a list element or a map value).
func (a *api) appendElem(expr, name string) string {
	s := a.shapes[name]
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return fmt.Sprintf("b = appendJSONString(b, string(%s))", expr)
		}
		return fmt.Sprintf("b = appendJSONString(b, %s)", expr)
	case "integer", "long":
		return fmt.Sprintf("b = strconv.AppendInt(b, int64(%s), 10)", expr)
	case "boolean":
		return fmt.Sprintf("b = strconv.AppendBool(b, %s)", expr)
	case "timestamp", "structure":
		return fmt.Sprintf("b = (%s).AppendJSON(b)", strings.TrimPrefix(expr, "*"))
	}
	panic(fmt.Sprintf("AppendJSON: unsupported element shape %s of type %s", name, s.Type))
}
