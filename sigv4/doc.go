// Package sigv4 verifies AWS Signature Version 4 on requests made by
// unmodified AWS SDKs, so that Belfry can authenticate them exactly as the
// real Amazon Chime SDK endpoints would.
//
// Two entry points exist because the two client paths sign differently:
// VerifyRequest handles the REST APIs (Authorization header, body hashed),
// VerifyPresigned handles the messaging websocket upgrade (everything in the
// query string, presigned by amazon-chime-sdk-js with its own encoder).
//
// The package is deliberately lenient about representation where real
// signers disagree (path normalisation, query encoding, payload hash of a
// presigned GET) and strict about everything that carries meaning
// (credential scope, time window, duplicated auth parameters, the host
// header being signed). See shared/docs/websocket-protocol.md §1.3–1.4 and §6 items 3
// and 8 for the client behaviour this mirrors.
package sigv4
