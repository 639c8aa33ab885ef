package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/belfryhq/belfry/internal/spec"
)

// The subset of the botocore service-2 JSON format that the Chime models use.
type serviceModel struct {
	Metadata struct {
		ServiceID   string `json:"serviceId"`
		SigningName string `json:"signingName"`
		Protocol    string `json:"protocol"`
	} `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`
}

type operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input  *shapeRef   `json:"input"`
	Output *shapeRef   `json:"output"`
	Errors []*shapeRef `json:"errors"`
	Doc    string      `json:"documentation"`
}

type shapeRef struct {
	Shape            string `json:"shape"`
	Location         string `json:"location"`
	LocationName     string `json:"locationName"`
	IdempotencyToken bool   `json:"idempotencyToken"`
	Doc              string `json:"documentation"`
}

type shape struct {
	Type      string               `json:"type"`
	Required  []string             `json:"required"`
	Members   map[string]*shapeRef `json:"members"`
	Member    *shapeRef            `json:"member"`
	Key       *shapeRef            `json:"key"`
	Value     *shapeRef            `json:"value"`
	Enum      []string             `json:"enum"`
	Min       *int64               `json:"min"`
	Max       *int64               `json:"max"`
	Pattern   string               `json:"pattern"`
	Sensitive bool                 `json:"sensitive"`
	Exception bool                 `json:"exception"`
	Fault     bool                 `json:"fault"`
	Error     *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error"`
	Doc string `json:"documentation"`

	// Filled in by merge: the Go name this shape is generated under.
	goName string
	// The service the shape came from, for validation messages.
	service string
}

func loadModel(src spec.Source, service string) (*serviceModel, error) {
	path, err := src.Path(service)
	if err != nil {
		return nil, err
	}
	b, err := src.Read(service)
	if err != nil {
		return nil, err
	}
	var m serviceModel
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Metadata.Protocol != "rest-json" {
		return nil, fmt.Errorf("%s: protocol %q, want rest-json", path, m.Metadata.Protocol)
	}
	return &m, nil
}

// api is both models merged: one namespace of shapes and operations. Shapes
// defined identically by both services are generated once; a shape the two
// define differently keeps its name in Messaging and gets the "Identity"
// prefix in Identity, along with every Identity shape that reaches it.
type api struct {
	shapes map[string]*shape // by Go name
	ops    []*mergedOp       // sorted by name
}

type mergedOp struct {
	*operation
	services []string // "Identity", "Messaging"
	input    *shape
	output   *shape
	path     string // path template without the query discriminator
	queryKey string // e.g. "operation" in "?operation=redact"
	queryVal string
}

func serviceName(m *serviceModel) string {
	return strings.TrimPrefix(m.Metadata.ServiceID, "Chime SDK ")
}

func mergeModels(models ...*serviceModel) (*api, error) {
	a := &api{shapes: map[string]*shape{}}
	// deep canonical form of each shape, per service, to spot real differences
	canon := func(m *serviceModel, name string) string {
		var walk func(name string, seen map[string]bool) any
		walk = func(name string, seen map[string]bool) any {
			s := m.Shapes[name]
			if seen[name] {
				return name
			}
			seen[name] = true
			c := map[string]any{"type": s.Type, "enum": s.Enum, "min": s.Min, "max": s.Max, "pattern": s.Pattern, "required": s.Required}
			ref := func(r *shapeRef) any {
				if r == nil {
					return nil
				}
				return []any{r.Location, r.LocationName, r.IdempotencyToken, walk(r.Shape, seen)}
			}
			mem := map[string]any{}
			for k, r := range s.Members {
				mem[k] = ref(r)
			}
			c["members"], c["member"], c["key"], c["value"] = mem, ref(s.Member), ref(s.Key), ref(s.Value)
			delete(seen, name)
			return c
		}
		b, _ := json.Marshal(walk(name, map[string]bool{}))
		return string(b)
	}
	first := map[string]*serviceModel{}
	for _, m := range models {
		svc := serviceName(m)
		rename := map[string]string{}
		for name := range m.Shapes {
			if prev, ok := first[name]; ok && canon(prev, name) != canon(m, name) {
				rename[name] = svc + name
			}
		}
		for name, s := range m.Shapes {
			goName := name
			if r, ok := rename[name]; ok {
				goName = r
			}
			s.goName, s.service = goName, svc
			if _, ok := first[name]; !ok {
				first[name] = m
			}
			if _, dup := a.shapes[goName]; !dup {
				a.shapes[goName] = s
			}
		}
		// re-point references inside this model at the Go names
		for _, s := range m.Shapes {
			for _, r := range s.refs() {
				r.Shape = m.Shapes[r.Shape].goName
			}
		}
		for name, op := range m.Operations {
			var existing *mergedOp
			for _, o := range a.ops {
				if o.Name == name {
					existing = o
				}
			}
			if existing != nil {
				if !reflect.DeepEqual(existing.HTTP, op.HTTP) || existing.Input.Shape != op.Input.Shape {
					return nil, fmt.Errorf("operation %s differs between services", name)
				}
				existing.services = append(existing.services, svc)
				continue
			}
			mo := &mergedOp{operation: op, services: []string{svc}}
			mo.path, mo.queryKey, mo.queryVal = splitURI(op.HTTP.RequestURI)
			if op.HTTP.ResponseCode == 0 {
				op.HTTP.ResponseCode = 200
			}
			a.ops = append(a.ops, mo)
		}
	}
	for _, o := range a.ops {
		if o.Input != nil {
			o.input = a.shapes[o.Input.Shape]
		}
		if o.Output != nil {
			o.output = a.shapes[o.Output.Shape]
		}
	}
	sort.Slice(a.ops, func(i, j int) bool { return a.ops[i].Name < a.ops[j].Name })
	return a, nil
}

func (s *shape) refs() []*shapeRef {
	var rs []*shapeRef
	for _, r := range s.Members {
		rs = append(rs, r)
	}
	for _, r := range []*shapeRef{s.Member, s.Key, s.Value} {
		if r != nil {
			rs = append(rs, r)
		}
	}
	return rs
}

func splitURI(uri string) (path, key, val string) {
	path, q, ok := strings.Cut(uri, "?")
	if !ok {
		return path, "", ""
	}
	key, val, _ = strings.Cut(q, "=")
	return path, key, val
}

func loadAPI(src spec.Source) (*api, error) {
	var models []*serviceModel
	// Messaging first: for a shape the services define differently, Messaging's
	// definition keeps the plain name (it is the larger API).
	for _, service := range []string{"chime-sdk-messaging", "chime-sdk-identity"} {
		m, err := loadModel(src, service)
		if err != nil {
			return nil, err
		}
		models = append(models, m)
	}
	return mergeModels(models...)
}

func (a *api) sortedShapeNames() []string {
	var names []string
	for n := range a.shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func sortedMembers(s *shape) []string {
	var names []string
	for n := range s.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *shape) isRequired(member string) bool {
	for _, r := range s.Required {
		if r == member {
			return true
		}
	}
	return false
}
