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
// because user and channel ids may themselves contain ':'.
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "chime" || parts[1] == "" {
		return ARN{}, fmt.Errorf("%q is not a Chime ARN (arn:aws:chime:region:account:app-instance/…)", s)
	}
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4]}
	res := strings.Split(parts[5], "/")
	if res[0] != string(ResourceAppInstance) || len(res) < 2 || res[1] == "" {
		return ARN{}, fmt.Errorf("%q does not name an app-instance resource", s)
	}
	a.AppInstanceID = res[1]
	switch len(res) {
	case 2:
		a.Type = ResourceAppInstance
	case 4:
		switch t := ResourceType(res[2]); t {
		case ResourceAppInstanceUser, ResourceAppInstanceBot, ResourceChannel, ResourceChannelFlow:
			if res[3] == "" {
				return ARN{}, fmt.Errorf("%q has an empty %s id", s, t)
			}
			a.Type, a.ID = t, res[3]
		default:
			return ARN{}, fmt.Errorf("%q names an unknown resource type %q", s, res[2])
		}
	default:
		return ARN{}, fmt.Errorf("%q is not a Chime resource ARN", s)
	}
	return a, nil
}

// String formats the ARN.
func (a ARN) String() string {
	s := fmt.Sprintf("arn:%s:chime:%s:%s:app-instance/%s", a.Partition, a.Region, a.Account, a.AppInstanceID)
	if a.Type != ResourceAppInstance && a.Type != "" {
		s += "/" + string(a.Type) + "/" + a.ID
	}
	return s
}

// AppInstanceARN is the ARN of the app instance a resource belongs to.
func (a ARN) AppInstanceARN() ARN {
	return ARN{Partition: a.Partition, Region: a.Region, Account: a.Account, AppInstanceID: a.AppInstanceID, Type: ResourceAppInstance}
}
