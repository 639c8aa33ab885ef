package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/belfryhq/belfry/connlimit"
	"github.com/belfryhq/belfry/realtime"
)

// Connection-phase defaults (docs/security.md explains each).
const (
	defaultReadHeaderTimeout   = 10 * time.Second
	defaultBodyReadTimeout     = 10 * time.Second
	defaultIdleTimeout         = 2 * time.Minute
	defaultMaxConnsPerClient   = 4096
	defaultMaxWSHandshakes     = 256
	defaultMaxSlowBodiesPerKey = 32
)

// config is everything `belfry serve` can be told.
type config struct {
	Listen          string
	TLSListen       string
	TLSCert         string
	TLSKey          string
	DataDir         string
	Region          string
	AccountID       string
	LogLevel        string
	LogFormat       string
	MaxClockSkew    time.Duration
	ShutdownTimeout time.Duration
	SweepInterval   time.Duration

	WSPublicHost       string
	MaxSessionsPerUser int
	WSPingInterval     time.Duration

	LambdaEndpoint    string
	FlowWebhooks      string
	FlowWebhookSecret string

	Demo                  bool
	ReadHeaderTimeout     time.Duration
	BodyReadTimeout       time.Duration
	IdleTimeout           time.Duration
	MaxConnsPerClient     int
	MaxWSHandshakes       int
	TrustedProxies        string
	RateLimits            string
	MaxSlowBodiesPerKey   int
	PinpointEndpoint      string
	PushWebhook           string
	KinesisEndpoint       string
	StreamWebhook         string
	DeliveryWebhookSecret string
	DeliveryRetryMax      time.Duration
	PushWebhookSecret     string
	StreamWebhookSecret   string
	Bus                   string
	// Store is the --store URL: "" for the embedded SQLite store.
	Store string
	// NodeID names this node among those sharing the store; "" means the
	// default (nodeID).
	NodeID string
	// BusReplicas is the replica count of the JetStream stream.
	BusReplicas int
}

// commonFlags are shared by every command that opens the data dir.
func commonFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.DataDir, "data-dir", "belfry-data", "directory for the embedded store, the root credential and generated TLS files (created if missing)")
	fs.StringVar(&c.Region, "region", "us-east-1", "AWS region used in ARNs and accepted in signatures")
	fs.StringVar(&c.AccountID, "account-id", "000000000000", "12-digit AWS account id used in ARNs")
	fs.StringVar(&c.Store, "store", "", "the database: postgres://USER:PASSWORD@HOST[:PORT]/DB[?sslmode=...] for a PostgreSQL database that several nodes share (they share the root credential, keys and all state through it); default: the embedded SQLite store under --data-dir")
}

func serveFlags(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("belfry serve", flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8400", "HOST:PORT of the plain HTTP listener (REST APIs, websocket, /healthz, /metrics)")
	fs.StringVar(&c.TLSListen, "tls-listen", "127.0.0.1:8401", `HOST:PORT of the TLS listener (the same endpoints; amazon-chime-sdk-js needs wss); "off" disables it`)
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) for the TLS listener; default: a local CA and localhost certificate generated under <data-dir>/tls")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	commonFlags(fs, c)
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.MaxClockSkew, "max-clock-skew", 15*time.Minute, "how far a request's signing time may differ from the server clock (AWS: 15m)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for requests in flight")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", time.Minute, "how often expired AppInstanceUsers are deleted (AWS: within ~6h of expiry)")
	fs.StringVar(&c.WSPublicHost, "ws-public-host", "", "HOST[:PORT] clients reach the messaging-session websocket at, as GetMessagingSessionEndpoint returns it (bare: no scheme, no path); default: the TLS listener's address, or the plain one's with TLS off")
	fs.IntVar(&c.MaxSessionsPerUser, "max-sessions-per-user", realtime.DefaultMaxSessionsPerUser, "messaging sessions one AppInstanceUser may have open on this server; the next is closed with code 1008")
	fs.DurationVar(&c.WSPingInterval, "ws-ping-interval", realtime.DefaultPingInterval, "how often the server pings each messaging session; one that answers no ping for two intervals is dropped")
	fs.StringVar(&c.LambdaEndpoint, "lambda-endpoint", "", "base URL of the AWS Lambda API that channel-flow processors are invoked through (any Lambda-compatible runtime); default: the standard AWS endpoint of the processor's region. Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID, ~/.aws, ...)")
	fs.StringVar(&c.FlowWebhooks, "flow-webhooks", "", "channel-flow processors reached by HTTP webhook instead of Lambda: ARN=URL[,ARN=URL...]; requests are signed with --flow-webhook-secret")
	fs.StringVar(&c.FlowWebhookSecret, "flow-webhook-secret", "", "HMAC-SHA256 key that signs webhook requests (X-Belfry-Signature); required with --flow-webhooks")
	fs.BoolVar(&c.Demo, "demo", false, "seed an app instance \"demo\" with users alice and bob, a channel and messages (once; kept on later starts), and print what to try")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", defaultReadHeaderTimeout, "how long a client may take to send a request's headers")
	fs.DurationVar(&c.BodyReadTimeout, "body-read-timeout", defaultBodyReadTimeout, "how long a client may take to send a request's body, once its headers have passed authentication")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", defaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.IntVar(&c.MaxConnsPerClient, "max-conns-per-client", defaultMaxConnsPerClient, "open connections (including websockets) one client address may hold; more are closed at once; 0 means no limit")
	fs.IntVar(&c.MaxWSHandshakes, "max-ws-handshakes", defaultMaxWSHandshakes, "websocket handshakes (/connect: authentication and session load) in progress at once; more are answered 503 at once; 0 means no limit")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For is believed; their own connections are not limited by --max-conns-per-client, and the client address behind them is limited to that many requests in flight")
	fs.IntVar(&c.MaxSlowBodiesPerKey, "max-slow-bodies-per-key", defaultMaxSlowBodiesPerKey, "requests per access key whose body is still arriving 250ms after their headers; more are refused (429) at once; 0 means no limit")
	fs.StringVar(&c.RateLimits, "rate-limits", "off", "request-rate profile: aws (AWS's published per-bearer, per-channel, per-app-instance and per-operation rates, ThrottledClientException 429 beyond them) or off")
	fs.StringVar(&c.PinpointEndpoint, "pinpoint-endpoint", "", `base URL of the Amazon Pinpoint API that push notifications are sent through (SendMessages; any compatible endpoint), or "aws" for the standard AWS endpoint of each endpoint's Pinpoint application region; default: pushes are recorded (GET /_belfry/push-notifications) but not sent. Credentials come from the AWS SDK's default chain`)
	fs.StringVar(&c.PushWebhook, "push-webhook", "", "URL that receives each push notification (one signed POST per device) instead of Pinpoint; signed with --delivery-webhook-secret")
	fs.StringVar(&c.KinesisEndpoint, "kinesis-endpoint", "", `base URL of the Amazon Kinesis API that streaming records are put to (PutRecords; any compatible endpoint), or "aws" for the standard AWS endpoint of each stream's region; default: records are recorded (GET /_belfry/stream-records) but not sent. Credentials come from the AWS SDK's default chain`)
	fs.StringVar(&c.StreamWebhook, "stream-webhook", "", "URL that receives each streaming record (one signed POST per record) instead of Kinesis; signed with --delivery-webhook-secret")
	fs.StringVar(&c.DeliveryWebhookSecret, "delivery-webhook-secret", "", "HMAC-SHA256 key that signs --push-webhook and --stream-webhook requests (X-Belfry-Signature, as flow webhooks); default: --flow-webhook-secret")
	fs.StringVar(&c.PushWebhookSecret, "push-webhook-secret", "", "HMAC-SHA256 key that signs --push-webhook requests; default: --delivery-webhook-secret")
	fs.StringVar(&c.StreamWebhookSecret, "stream-webhook-secret", "", "HMAC-SHA256 key that signs --stream-webhook requests; default: --delivery-webhook-secret")
	fs.DurationVar(&c.DeliveryRetryMax, "delivery-retry-max", 30*time.Second, "longest wait between two attempts of a push notification or streaming record whose sink failed (the backoff doubles from 250ms up to this)")
	fs.StringVar(&c.Bus, "bus", "", `event bus between the nodes of a cluster: nats://HOST:4222 (a comma-separated list for a NATS cluster; tls:// for TLS), shared by every node; default: the in-process bus of a single node`)
	fs.IntVar(&c.BusReplicas, "bus-replicas", 1, "with --bus: copies of the JetStream stream BELFRY_EVENTS that the NATS servers keep (1, or 3 on a NATS cluster so that losing a NATS server loses none of the replay window); set the same on every node")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's name among the nodes sharing a --store, recorded as the owner of the delivery and channel-flow leases it takes: unique among the running nodes and the same across this node's restarts, so a restarted node takes its own leases back at once; default: HOSTNAME:PORT of the plain listener (of the TLS one with --listen off)")
	return fs
}

// envName is the environment variable of a flag: --tls-listen is BELFRY_TLS_LISTEN.
func envName(flagName string) string {
	return "BELFRY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags applies the environment first and the command line second, so
// flags win. Usage text names each flag's variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) error {
	return parseFlagsExcept(fs, args, getenv, stderr, nil)
}

// parseFlagsExcept is parseFlags where the flags named in commandLineOnly
// take no value from the environment: a subcommand's own flag must not pick
// up a variable meant for something else (credentials delete
// --access-key-id is not BELFRY_ACCESS_KEY_ID, the root key).
func parseFlagsExcept(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer, commandLineOnly map[string]bool) error {
	fs.SetOutput(stderr)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if commandLineOnly[f.Name] {
			return
		}
		f.Usage += fmt.Sprintf(" (env %s)", envName(f.Name))
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return usageError{envErr}
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

func (c *config) validateCommon() error {
	switch {
	case !accountRE.MatchString(c.AccountID):
		return usageError{fmt.Errorf("--account-id must be 12 digits, got %q", c.AccountID)}
	case !regionRE.MatchString(c.Region):
		return usageError{fmt.Errorf("--region must look like us-east-1, got %q", c.Region)}
	case c.DataDir == "":
		return usageError{fmt.Errorf("--data-dir must not be empty")}
	case c.Store != "" && !isPostgresURL(c.Store):
		return usageError{fmt.Errorf("--store must be a postgres:// or postgresql:// URL, or empty for the embedded SQLite store")}
	}
	return nil
}

func (c *config) validateServe() error {
	if err := c.validateCommon(); err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return usageError{fmt.Errorf("--tls-cert and --tls-key go together")}
	}
	if c.Listen == "" && c.TLSListen == "off" {
		return usageError{fmt.Errorf("--listen and --tls-listen are both off: nothing to serve")}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return usageError{fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat)}
	}
	if c.MaxClockSkew <= 0 || c.ShutdownTimeout <= 0 {
		return usageError{fmt.Errorf("--max-clock-skew and --shutdown-timeout must be positive")}
	}
	if c.SweepInterval <= 0 {
		return usageError{fmt.Errorf("--sweep-interval must be positive")}
	}
	if c.MaxSessionsPerUser < 1 {
		return usageError{fmt.Errorf("--max-sessions-per-user must be at least 1, got %d", c.MaxSessionsPerUser)}
	}
	if c.WSPingInterval < time.Second {
		return usageError{fmt.Errorf("--ws-ping-interval must be at least 1s, got %s", c.WSPingInterval)}
	}
	if c.FlowWebhooks != "" && c.FlowWebhookSecret == "" {
		return usageError{fmt.Errorf("--flow-webhooks needs --flow-webhook-secret, so receivers can verify the requests")}
	}
	if c.ReadHeaderTimeout < 0 || c.BodyReadTimeout < 0 || c.IdleTimeout < 0 {
		return usageError{fmt.Errorf("--read-header-timeout, --body-read-timeout and --idle-timeout must not be negative")}
	}
	if c.MaxConnsPerClient < 0 || c.MaxWSHandshakes < 0 || c.MaxSlowBodiesPerKey < 0 {
		return usageError{fmt.Errorf("--max-conns-per-client, --max-ws-handshakes and --max-slow-bodies-per-key must not be negative")}
	}
	if _, err := connlimit.ParsePrefixes(c.TrustedProxies); err != nil {
		return usageError{fmt.Errorf("--trusted-proxies: %v", err)}
	}
	switch c.RateLimits {
	case "aws", "off":
	default:
		return usageError{fmt.Errorf("--rate-limits must be aws or off, got %q", c.RateLimits)}
	}
	if c.PinpointEndpoint != "" && c.PushWebhook != "" {
		return usageError{fmt.Errorf("--pinpoint-endpoint and --push-webhook exclude each other: push notifications go to one sink")}
	}
	if c.KinesisEndpoint != "" && c.StreamWebhook != "" {
		return usageError{fmt.Errorf("--kinesis-endpoint and --stream-webhook exclude each other: streaming records go to one sink")}
	}
	if c.DeliveryWebhookSecret == "" {
		c.DeliveryWebhookSecret = c.FlowWebhookSecret
	}
	if c.PushWebhookSecret == "" {
		c.PushWebhookSecret = c.DeliveryWebhookSecret
	}
	if c.StreamWebhookSecret == "" {
		c.StreamWebhookSecret = c.DeliveryWebhookSecret
	}
	if c.PushWebhook != "" && c.PushWebhookSecret == "" {
		return usageError{fmt.Errorf("--push-webhook needs --push-webhook-secret, --delivery-webhook-secret or --flow-webhook-secret, so receivers can verify the requests")}
	}
	if c.StreamWebhook != "" && c.StreamWebhookSecret == "" {
		return usageError{fmt.Errorf("--stream-webhook needs --stream-webhook-secret, --delivery-webhook-secret or --flow-webhook-secret, so receivers can verify the requests")}
	}
	if c.DeliveryRetryMax < 250*time.Millisecond {
		return usageError{fmt.Errorf("--delivery-retry-max must be at least 250ms, got %s", c.DeliveryRetryMax)}
	}
	if err := validateBus(c.Bus); err != nil {
		return usageError{err}
	}
	if c.BusReplicas < 0 || c.BusReplicas > 5 { // 0: natsbus's default, 1
		return usageError{fmt.Errorf("--bus-replicas must be 1 to 5 (JetStream's limit), got %d", c.BusReplicas)}
	}
	host, err := normalizePublicHost(c.WSPublicHost)
	if err != nil {
		return usageError{err}
	}
	c.WSPublicHost = host
	if len(c.NodeID) > 200 || strings.IndexFunc(c.NodeID, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 || strings.TrimSpace(c.NodeID) != c.NodeID {
		return usageError{fmt.Errorf("--node-id must be at most 200 printable characters without leading or trailing spaces, got %q", c.NodeID)}
	}
	return nil
}

// nodeID is the name this node's leases are recorded under: --node-id, or
// the host name and the port of the listener it serves on (a restart on
// the same machine and port is the same node; two nodes of one machine
// differ by port). httpAddr and tlsAddr are the bound addresses.
func nodeID(c config, httpAddr, tlsAddr string) string {
	if c.NodeID != "" {
		return c.NodeID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	addr := httpAddr
	if addr == "" {
		addr = tlsAddr
	}
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, port)
}

// validateBus checks a --bus value: empty, or NATS server URLs.
func validateBus(v string) error {
	if v == "" {
		return nil
	}
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") || len(u) <= len("nats://") {
			return fmt.Errorf("--bus must be nats://HOST:PORT (or a comma-separated list of them), got %q", v)
		}
	}
	return nil
}

// normalizePublicHost checks a --ws-public-host value. amazon-chime-sdk-js
// dials wss://<value>/connect and signs "host:<value>" literally, so the
// value must be a bare host[:port]. A ":443" is dropped: browsers leave the
// default port out of the Host header, so a signature over "host:443" could
// never be verified.
func normalizePublicHost(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if strings.Contains(v, "://") || strings.ContainsAny(v, "/?# \t") {
		return "", fmt.Errorf("--ws-public-host must be a bare HOST[:PORT] such as chat.example.com or 127.0.0.1:8401 (no scheme, no path), got %q", v)
	}
	if host, port, err := net.SplitHostPort(v); err == nil {
		if host == "" || port == "" {
			return "", fmt.Errorf("--ws-public-host must be HOST[:PORT], got %q", v)
		}
		if port == "443" {
			if strings.Contains(host, ":") {
				return "[" + host + "]", nil
			}
			return host, nil
		}
	}
	return v, nil
}

// messagingEndpoint is what GetMessagingSessionEndpoint answers: the
// configured public host, else the address the websocket listens on: the
// TLS listener's (the JS SDK always dials wss), or the plain one's with TLS
// off. An unspecified listen address (0.0.0.0, ::) becomes loopback, and
// the scheme's default port is left out.
func messagingEndpoint(publicHost, httpAddr, tlsAddr string) string {
	if publicHost != "" {
		return publicHost
	}
	addr, defaultPort := tlsAddr, "443"
	if addr == "" {
		addr, defaultPort = httpAddr, "80"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	if port == defaultPort {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}
