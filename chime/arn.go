package chime

import (
	"fmt"
	"strings"
)

// ResourceType is the kind of Chime resource an ARN names.
type ResourceType string

// Resource types with ARNs of their own (semantics §1.1).
const (
	ResourceAppInstance     ResourceType = "app-instance"
	ResourceAppInstanceUser ResourceType = "user"
	ResourceAppInstanceBot  ResourceType = "bot"
	ResourceChannel         ResourceType = "channel"
	ResourceChannelFlow     ResourceType = "channel-flow"
)

// ARN is a parsed Chime ARN:
// arn:aws:chime:{region}:{account}:app-instance/{AppInstanceId}[/{type}/{id}].
type ARN struct {
	Partition, Region, Account string
	AppInstanceID              string
	Type                       ResourceType // ResourceAppInstance for the app instance itself
	ID                         string       // the user, bot, channel or flow id; "" for an app instance
}

// ParseARN parses a Chime ARN. It splits on the first five colons only,
// because user and channel ids may themselves contain ':'. It runs on
// every ARN of every call, so it splits without allocating.
func ParseARN(s string) (ARN, error) {
	var parts [6]string
	rest := s
	for i := range 5 {
		part, after, ok := strings.Cut(rest, ":")
		if !ok {
			return ARN{}, fmt.Errorf("%q is not a Chime ARN (arn:aws:chime:region:account:app-instance/…)", s)
		}
		parts[i], rest = part, after
	}
	parts[5] = rest
	if parts[0] != "arn" || parts[2] != "chime" || parts[1] == "" {
		return ARN{}, fmt.Errorf("%q is not a Chime ARN (arn:aws:chime:region:account:app-instance/…)", s)
	}
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4]}
	n := strings.Count(parts[5], "/") + 1
	kind, after, _ := strings.Cut(parts[5], "/")
	appID, after, _ := strings.Cut(after, "/")
	if kind != string(ResourceAppInstance) || n < 2 || appID == "" {
		return ARN{}, fmt.Errorf("%q does not name an app-instance resource", s)
	}
	a.AppInstanceID = appID
	switch n {
	case 2:
		a.Type = ResourceAppInstance
	case 4:
		typ, id, _ := strings.Cut(after, "/")
		switch t := ResourceType(typ); t {
		case ResourceAppInstanceUser, ResourceAppInstanceBot, ResourceChannel, ResourceChannelFlow:
			if id == "" {
				return ARN{}, fmt.Errorf("%q has an empty %s id", s, t)
			}
			a.Type, a.ID = t, id
		default:
			return ARN{}, fmt.Errorf("%q names an unknown resource type %q", s, typ)
		}
	default:
		return ARN{}, fmt.Errorf("%q is not a Chime resource ARN", s)
	}
	return a, nil
}

// String formats the ARN.
func (a ARN) String() string {
	if a.Type != ResourceAppInstance && a.Type != "" {
		return "arn:" + a.Partition + ":chime:" + a.Region + ":" + a.Account + ":app-instance/" + a.AppInstanceID + "/" + string(a.Type) + "/" + a.ID
	}
	return "arn:" + a.Partition + ":chime:" + a.Region + ":" + a.Account + ":app-instance/" + a.AppInstanceID
}

// AppInstanceARN is the ARN of the app instance a resource belongs to.
func (a ARN) AppInstanceARN() ARN {
	return ARN{Partition: a.Partition, Region: a.Region, Account: a.Account, AppInstanceID: a.AppInstanceID, Type: ResourceAppInstance}
}
