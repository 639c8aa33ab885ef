package flows

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// functionArnPattern is the LambdaFunctionArn pattern of the Chime messaging
// model (shared/spec), anchored: a webhook key must be an ARN that
// CreateChannelFlow accepts as a processor ResourceArn, or it could never
// match a flow.
var functionArnPattern = regexp.MustCompile(`^arn:aws:lambda:[a-z]{2}-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9\-_\.]+(:(\$LATEST|[a-zA-Z0-9\-_]+))?$`)

// Length bounds of the model's LambdaFunctionArn shape.
const (
	minFunctionArnLen = 15
	maxFunctionArnLen = 2048
)

func validateFunctionArn(arn string) error {
	if len(arn) < minFunctionArnLen || len(arn) > maxFunctionArnLen || !functionArnPattern.MatchString(arn) {
		return errors.New("not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])")
	}
	return nil
}

// validateHTTPURL parses an absolute http or https URL with a host. Errors
// never echo the URL, which may carry credentials.
func validateHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("malformed URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %s: scheme must be http or https", u.Redacted())
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("URL %s: missing host", u.Redacted())
	}
	return u, nil
}

func validateWebhookURL(raw string) (*url.URL, error) {
	u, err := validateHTTPURL(raw)
	if err != nil {
		return nil, err
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("URL %s: fragments are not sent to servers", u.Redacted())
	}
	return u, nil
}

// ParseWebhooks parses the flag/environment form "ARN=URL,ARN=URL" into a
// map from processor ARN to webhook URL. Whitespace around entries, names and
// URLs is ignored, as are empty entries; an ARN may appear once. ARNs must be
// Lambda function ARNs as Chime accepts them in a processor
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) and URLs absolute
// http or https URLs; a comma inside a URL must be written %2C. Error
// messages redact URL passwords.
func ParseWebhooks(s string) (map[string]string, error) {
	m := make(map[string]string)
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		// ARNs cannot contain "=", so the first one separates the pair and
		// URLs keep theirs (query strings).
		arn, raw, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, fmt.Errorf("flows: webhook entry %d: want ARN=URL", i+1)
		}
		arn, raw = strings.TrimSpace(arn), strings.TrimSpace(raw)
		if err := validateFunctionArn(arn); err != nil {
			return nil, fmt.Errorf("flows: webhook entry %d%s: %w", i+1, quoteArn(arn), err)
		}
		if _, err := validateWebhookURL(raw); err != nil {
			return nil, fmt.Errorf("flows: webhook entry %d (%s): %w", i+1, arn, err)
		}
		if _, dup := m[arn]; dup {
			return nil, fmt.Errorf("flows: webhook entry %d: %s appears more than once", i+1, arn)
		}
		m[arn] = raw
	}
	return m, nil
}

// quoteArn echoes a rejected ARN in an error message only when it looks like
// an ARN: a swapped "URL=ARN" pair must not print a URL password.
func quoteArn(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return ""
	}
	return fmt.Sprintf(" (%q)", s)
}
