package chime

import "context"

// Principal is the credential that signed a request: the root credential,
// which acts for the whole account, or a scoped credential bound to one
// AppInstanceUser, which is what end-user apps are given.
type Principal struct {
	AccessKeyID string
	// UserArn is the AppInstanceUser a scoped credential is bound to; "" for root.
	UserArn string
}

// IsRoot reports whether p is the account's root credential.
func (p Principal) IsRoot() bool { return p.UserArn == "" }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries, and whether it carries one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ownUserArn is implemented by the identity inputs an end user may call on
// their own AppInstanceUser (reading their profile, registering push endpoints).
type ownUserArn interface{ ownUser() string }

func (s *DescribeAppInstanceUserRequest) ownUser() string         { return deref(s.AppInstanceUserArn) }
func (s *RegisterAppInstanceUserEndpointRequest) ownUser() string { return deref(s.AppInstanceUserArn) }
func (s *DescribeAppInstanceUserEndpointRequest) ownUser() string { return deref(s.AppInstanceUserArn) }
func (s *ListAppInstanceUserEndpointsRequest) ownUser() string    { return deref(s.AppInstanceUserArn) }
func (s *UpdateAppInstanceUserEndpointRequest) ownUser() string   { return deref(s.AppInstanceUserArn) }
func (s *DeregisterAppInstanceUserEndpointRequest) ownUser() string {
	return deref(s.AppInstanceUserArn)
}

// Permit stands in for IAM: it decides whether p may call op with input in.
// The root credential may call everything. A scoped credential may only act
// as its own user: bearer operations with itself as x-amz-chime-bearer,
// GetMessagingSessionEndpoint (the messaging session needs it), and the
// identity operations on its own user listed above. Everything else, the
// developer APIs above all, is denied, so a key shipped to a client app
// cannot escalate.
func Permit(p Principal, op *Operation, in any) error {
	if p.IsRoot() {
		return nil
	}
	switch {
	case op == OpGetMessagingSessionEndpoint:
		return nil
	case op.Bearer != BearerNone:
		if b, ok := in.(Bearing); ok && b.Bearer() == p.UserArn {
			return nil
		}
		return Errorf(Forbidden, "The credential %s is bound to %s and may only call %s with that ARN as x-amz-chime-bearer.", p.AccessKeyID, p.UserArn, op.Name)
	}
	if o, ok := in.(ownUserArn); ok && o.ownUser() == p.UserArn {
		return nil
	}
	return Errorf(Forbidden, "The credential %s is bound to the AppInstanceUser %s and is not authorized to perform %s: it is a developer API, callable with the root credential only.", p.AccessKeyID, p.UserArn, op.Name)
}
