package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

var (
	signer   = v4.NewSigner()
	rootCred = aws.Credentials{AccessKeyID: rootAKID, SecretAccessKey: rootSecret}
)

// newTransport is one keep-alive connection's worth of HTTP client: each
// load-generating client gets its own, so N clients are N connections.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
}

// signedRequest builds a request signed like the AWS SDK for Go v2 signs
// it: SigV4, service chime, region us-east-1, the escaped path as sent.
func signedRequest(ctx context.Context, method, rawURL string, body []byte, bearer string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if bearer != "" {
		req.Header.Set("x-amz-chime-bearer", bearer)
	}
	hash := emptySHA256
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	if err := signer.SignHTTP(ctx, rootCred, req, hash, "chime", "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	return req, nil
}

// api calls one belfry with the root credential.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(base string, conns int) *api {
	return &api{base: base, hc: &http.Client{Transport: newTransport(conns), Timeout: time.Minute}}
}

type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.status, truncateString(e.body, 300))
}

// call sends a signed request and decodes the JSON answer into out (nil:
// discard). A status other than want is an *apiError.
func (a *api) call(ctx context.Context, method, path string, in any, bearer string, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := signedRequest(ctx, method, a.base+path, body, bearer)
	if err != nil {
		return err
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return &apiError{res.StatusCode, string(b)}
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

func channelPath(channelArn, suffix string) string {
	return "/channels/" + url.PathEscape(channelArn) + suffix
}

var tokenSeq atomic.Int64

// token returns a fresh ClientRequestToken.
func token(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, tokenSeq.Add(1))
}

func (a *api) createAppInstance(ctx context.Context, name string) (string, error) {
	var out struct{ AppInstanceArn string }
	err := a.call(ctx, "POST", "/app-instances", map[string]any{"Name": name, "ClientRequestToken": token("app")}, "", 201, &out)
	return out.AppInstanceArn, err
}

func (a *api) createUser(ctx context.Context, app, id string) (string, error) {
	var out struct{ AppInstanceUserArn string }
	err := a.call(ctx, "POST", "/app-instance-users", map[string]any{
		"AppInstanceArn": app, "AppInstanceUserId": id, "Name": id, "ClientRequestToken": token("user"),
	}, "", 201, &out)
	return out.AppInstanceUserArn, err
}

func (a *api) createChannel(ctx context.Context, app, name, bearer string) (string, error) {
	var out struct{ ChannelArn string }
	err := a.call(ctx, "POST", "/channels", map[string]any{
		"AppInstanceArn": app, "Name": name, "Mode": "UNRESTRICTED", "Privacy": "PUBLIC", "ClientRequestToken": token("ch"),
	}, bearer, 201, &out)
	return out.ChannelArn, err
}

// addMembers adds members with BatchCreateChannelMembership, 100 a call.
func (a *api) addMembers(ctx context.Context, channel, bearer string, members []string) error {
	for len(members) > 0 {
		n := min(100, len(members))
		var out struct {
			Errors []struct{ MemberArn, ErrorCode, ErrorMessage string }
		}
		err := a.call(ctx, "POST", channelPath(channel, "/memberships?operation=batch-create"),
			map[string]any{"MemberArns": members[:n], "Type": "DEFAULT"}, bearer, 200, &out)
		if err != nil {
			return fmt.Errorf("BatchCreateChannelMembership: %w", err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("BatchCreateChannelMembership: %d errors, first %s: %s %s", len(out.Errors), e.MemberArn, e.ErrorCode, e.ErrorMessage)
		}
		members = members[n:]
	}
	return nil
}

// createUsers creates users prefix00000.. concurrently and returns their
// ARNs in order.
func (a *api) createUsers(ctx context.Context, app, prefix string, n, workers int) ([]string, error) {
	arns := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				arn, err := a.createUser(ctx, app, fmt.Sprintf("%s%05d", prefix, i))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				arns[i] = arn
			}
		}()
	}
	wg.Wait()
	return arns, firstErr
}

// sendBody is a SendChannelMessage body.
func sendBody(content, tok string) []byte {
	b, _ := json.Marshal(map[string]string{"Content": content, "Type": "STANDARD", "Persistence": "PERSISTENT", "ClientRequestToken": tok})
	return b
}

func truncateString(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
