// Package flows delivers channel-flow events to processors.
//
// When a STANDARD message reaches a channel that has a ChannelFlow, the
// messaging service builds the processor event (shared/docs/websocket-protocol.md
// §5.2) and hands it to an [Invoker], which makes one attempt to deliver it to
// one processor. The processor's answer never comes back on this path: like
// Amazon Chime, Belfry invokes asynchronously and learns the outcome only when
// the processor calls the ChannelFlowCallback API. The job state machine,
// retries with backoff and the processor's FallbackAction belong to the
// caller; an Invoker only says "accepted", "not delivered, worth retrying" or
// "not delivered, retrying will not help" ([IsPermanent]).
//
// Because a delivery whose acknowledgement was lost will be retried,
// processors can see the same event more than once; they should treat the
// CallbackId as an idempotency key. ChannelFlowCallback accepts a CallbackId
// only once.
//
// # Two transports
//
// A processor is identified by the Lambda function ARN in its
// Configuration.Lambda.ResourceArn, exactly as in the AWS API, so flows
// created against Belfry are valid AWS input and the same client code works
// on both. How the event reaches that processor is Belfry's configuration:
//
//   - Lambda (the default). The function is invoked with the AWS Lambda
//     Invoke API, InvocationType "Event", as Chime does; the event is the
//     payload. The request is signed with SigV4 for service "lambda" in the
//     region named by the ARN. [Config.LambdaEndpoint] points the client at
//     any Lambda-compatible runtime (LocalStack, a Lambda emulator, ...)
//     instead of AWS, so the same processor code runs locally.
//   - Webhook. Self-hosters without Lambda map processor ARNs to HTTP(S) URLs
//     ([Config.Webhooks], [ParseWebhooks]); the event is POSTed there and
//     signed with a shared secret so the receiver can trust it. The receiver
//     later calls ChannelFlowCallback like a Lambda would.
//
// Lambda success is HTTP 202, what Lambda returns for InvocationType Event.
// Other 2xx statuses also count as delivered: runtimes that ignore the
// invocation type (the Lambda Runtime Interface Emulator, for one) run the
// function synchronously and answer 200, by which time the processor has the
// event; calling that a failure would make the caller invoke it again or apply
// the FallbackAction to a message whose callback may already be on its way.
//
// # Webhook requests
//
// Each event is one request:
//
//	POST <configured URL>
//	Content-Type: application/json
//	User-Agent: belfry
//	X-Belfry-Processor-Arn: arn:aws:lambda:us-east-1:111122223333:function:moderate
//	X-Belfry-Timestamp: 1735689600
//	X-Belfry-Signature: v1=<64 lowercase hex digits>
//
//	<the event JSON, byte for byte what a Lambda processor would receive>
//
// The signature is HMAC-SHA256 keyed with the shared secret
// ([Config.WebhookSecret]) over the timestamp header value, a full stop, and
// the raw body:
//
//	v1 = hex(HMAC-SHA256(secret, X-Belfry-Timestamp + "." + body))
//
// A receiver verifies a request by
//
//  1. reading the raw body before decoding it as JSON;
//  2. recomputing the HMAC and comparing it in constant time with each
//     "v1=" entry of X-Belfry-Signature (the header is a comma-separated list
//     so that more than one signature can be sent, e.g. during a secret
//     rotation; entries with other schemes are ignored);
//  3. rejecting timestamps further than a few minutes from its own clock
//     ([DefaultTolerance]), which limits replays.
//
// [Verify] implements these steps for receivers written in Go. The timestamp
// is Unix seconds. X-Belfry-Processor-Arn is informational and not signed;
// use the ARN to route, not to authorize.
//
// The receiver should answer quickly with any 2xx status and do its work
// afterwards. 408, 429 and 5xx answers, timeouts and network errors make the
// caller retry; any other status is a permanent failure and the processor's
// FallbackAction applies. Redirects are not followed (the signed event goes
// only to the configured URL), so a 3xx answer is a permanent failure too.
package flows
