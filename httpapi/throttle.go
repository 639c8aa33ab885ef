package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/throttle"
)

// throttleCall names the resources a call's rates are counted against: the
// ARNs in its path, its app-instance-arn query parameter or AppInstanceArn
// body member, and its bearer. Nothing here is validated: a call with a
// malformed ARN is refused by validation later, and counting it against a
// garbage key does no harm.
func throttleCall(op *chime.Operation, r *http.Request, segs []string, query url.Values, body []byte) throttle.Call {
	c := throttle.Call{
		Operation: op.Name,
		Messaging: op.Services&chime.ServiceMessaging != 0,
		Identity:  op.Services == chime.ServiceIdentity,
		Bearer:    r.Header.Get("x-amz-chime-bearer"),
	}
	for _, s := range segs {
		v, err := url.PathUnescape(s)
		if err != nil {
			continue
		}
		a, err := chime.ParseARN(v)
		if err != nil {
			continue
		}
		switch a.Type {
		case chime.ResourceChannel:
			c.Channel = v
		case chime.ResourceAppInstanceUser:
			c.User = v
		}
		if c.AppInstance == "" {
			c.AppInstance = a.AppInstanceARN().String()
		}
	}
	if c.AppInstance == "" {
		if v := query.Get("app-instance-arn"); v != "" {
			c.AppInstance = v
		} else if len(body) > 0 {
			var in struct{ AppInstanceArn string }
			if json.Unmarshal(body, &in) == nil {
				c.AppInstance = in.AppInstanceArn
			}
		}
	}
	return c
}
