package service

import (
	"github.com/belfryhq/belfry/chime"
)

// The ARN helpers check that an ARN names the expected kind of resource of
// this deployment. A syntactically wrong ARN, or one of the wrong kind, is
// BadRequestException; a well-formed ARN of another account or region
// names a resource that cannot exist here, so it is NotFoundException.

func (s *Service) arn(appInstanceID string, typ chime.ResourceType, id string) chime.ARN {
	return chime.ARN{Partition: "aws", Region: s.cfg.Region, Account: s.cfg.AccountID, AppInstanceID: appInstanceID, Type: typ, ID: id}
}

func (s *Service) appInstanceArn(id string) string {
	return s.arn(id, chime.ResourceAppInstance, "").String()
}

func (s *Service) userArn(appInstanceID, userID string) string {
	return s.arn(appInstanceID, chime.ResourceAppInstanceUser, userID).String()
}

func (s *Service) botArn(appInstanceID, botID string) string {
	return s.arn(appInstanceID, chime.ResourceAppInstanceBot, botID).String()
}

// parse parses arn, which the member field of the request carries, and
// checks its kind is one of types.
func (s *Service) parse(field, arn string, noun string, types ...chime.ResourceType) (chime.ARN, error) {
	a, err := chime.ParseARN(arn)
	ok := err == nil
	if ok {
		ok = false
		for _, t := range types {
			ok = ok || a.Type == t
		}
	}
	if !ok {
		return chime.ARN{}, badRequest("%s %q is not a valid %s ARN.", field, arn, noun)
	}
	if a.Partition != "aws" || a.Region != s.cfg.Region || a.Account != s.cfg.AccountID {
		return chime.ARN{}, notFound("%s %s not found: this server hosts account %s in %s.", noun, arn, s.cfg.AccountID, s.cfg.Region)
	}
	return a, nil
}

// parseAppInstance parses an AppInstance ARN.
func (s *Service) parseAppInstance(field, arn string) (chime.ARN, error) {
	return s.parse(field, arn, "AppInstance", chime.ResourceAppInstance)
}

// parseUser parses an AppInstanceUser ARN.
func (s *Service) parseUser(field, arn string) (chime.ARN, error) {
	return s.parse(field, arn, "AppInstanceUser", chime.ResourceAppInstanceUser)
}

// parseBot parses an AppInstanceBot ARN.
func (s *Service) parseBot(field, arn string) (chime.ARN, error) {
	return s.parse(field, arn, "AppInstanceBot", chime.ResourceAppInstanceBot)
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
