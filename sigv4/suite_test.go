package sigv4

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// A few cases of AWS's published SigV4 test suite, reproduced: the request is
// rebuilt here from its parts, and the expected value is the signature the
// suite publishes for it (credentials AKIDEXAMPLE, 20150830T123600Z,
// us-east-1, service "service").
var suiteCases = []struct {
	name          string
	requestLine   string // method and target as sent
	headers       []string
	body          string
	signedHeaders string
	signature     string
}{
	{"get-vanilla", "GET /", nil, "", "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-vanilla-query-order-key-case", "GET /?Param2=value2&Param1=value1", nil, "", "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{"get-utf8", "GET /ሴ", nil, "", "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
	{"get-space-normalized", "GET /example space/", nil, "", "host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
	{"get-slashes-unnormalized", "GET //example//", nil, "", "host;x-amz-date", "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
	{"get-header-value-trim", "GET /", []string{"My-Header1: value1", `My-Header2: "a   b   c"`}, "", "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
	{"get-vanilla-with-session-token", "GET /", []string{"X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"}, "", "host;x-amz-date;x-amz-security-token", "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
	{"post-vanilla", "POST /", nil, "", "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{"post-vanilla-query", "POST /?Param1=value1", nil, "", "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	{"post-x-www-form-urlencoded", "POST /", []string{"Content-Type:application/x-www-form-urlencoded", "Content-Length:13", "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"},
		"Param1=value1", "content-length;content-type;host;x-amz-content-sha256;x-amz-date", "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
}

func suiteRequest(requestLine string, headers []string, body, signedHeaders, signature string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s HTTP/1.1\nHost:example.amazonaws.com\n", requestLine)
	for _, h := range headers {
		b.WriteString(h + "\n")
	}
	fmt.Fprintf(&b, "X-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=%s, Signature=%s\n\n%s", signedHeaders, signature, body)
	return b.String()
}

func suiteVerifier(t *testing.T, token string) *Verifier {
	t.Helper()
	return &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, token),
		Service: "service",
		Regions: []string{"us-east-1"},
		Now:     fixedClock(mustTime(t, "20150830T123600Z")),
	}
}

func suiteToken(headers []string) string {
	for _, h := range headers {
		if v, ok := strings.CutPrefix(h, "X-Amz-Security-Token:"); ok {
			return v
		}
	}
	return ""
}

func TestSuiteHeaderSigned(t *testing.T) {
	for _, tc := range suiteCases {
		t.Run(tc.name, func(t *testing.T) {
			v := suiteVerifier(t, suiteToken(tc.headers))
			r, body := parseRawRequest(t, suiteRequest(tc.requestLine, tc.headers, tc.body, tc.signedHeaders, tc.signature))
			id, err := v.VerifyRequest(context.Background(), r, body)
			if err != nil {
				t.Fatalf("VerifyRequest: %v", err)
			}
			if id != exampleKeyID {
				t.Fatalf("access key = %q", id)
			}
		})
	}
}

// TestSuiteTampered changes the signing time and one signature digit of each
// case and expects rejections, so that the results above are not vacuous.
func TestSuiteTampered(t *testing.T) {
	for _, tc := range suiteCases {
		t.Run(tc.name, func(t *testing.T) {
			v := suiteVerifier(t, suiteToken(tc.headers))
			r, body := parseRawRequest(t, suiteRequest(tc.requestLine, tc.headers, tc.body, tc.signedHeaders, tc.signature))
			r.Header.Set("X-Amz-Date", "20150830T123601Z")
			_, err := v.VerifyRequest(context.Background(), r, body)
			wantKind(t, err, InvalidSignature)

			flipped := tc.signature[:10] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", tc.signature[10])+1)%16]) + tc.signature[11:]
			r, body = parseRawRequest(t, suiteRequest(tc.requestLine, tc.headers, tc.body, tc.signedHeaders, flipped))
			_, err = v.VerifyRequest(context.Background(), r, body)
			wantKind(t, err, InvalidSignature)
		})
	}
}
