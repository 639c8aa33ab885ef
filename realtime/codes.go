package realtime

import (
	"strconv"

	"github.com/belfryhq/belfry/chime"
)

// The close codes Belfry sends. amazon-chime-sdk-js reconnects after 1001,
// 1006, 1011–1014 and any 4xxx except 4002, 4003 and 4401; every other code
// ends the session for good (websocket-protocol.md §3.2). Permanent
// failures must therefore use terminal codes, or the client reconnects
// forever; transient ones retryable codes, or the client gives up.
const (
	// CloseGoingAway (retryable): the node is shutting down; reconnect,
	// possibly to another node.
	CloseGoingAway = 1001
	// ClosePolicyViolation (terminal): the session was replaced by a newer
	// connection with the same userArn and sessionId, or the user already
	// has MaxSessionsPerUser sessions on this node. A retryable code would
	// make two clients sharing a sessionId, or an eleventh tab, reconnect
	// and push each other out forever.
	ClosePolicyViolation = 1008
	// CloseInternalError (retryable): the server could not set the session
	// up, e.g. the store failed.
	CloseInternalError = 1011
	// CloseTryAgainLater (retryable): the client did not read fast enough
	// and its send queue filled up; it reconnects and catches up through
	// the REST API.
	CloseTryAgainLater = 1013
	// CloseForbidden (terminal): the credential may not connect as
	// userArn, or userArn is not an existing AppInstanceUser or
	// AppInstanceBot.
	CloseForbidden = 4003
	// CloseUnauthorized (terminal): the presigned URL's signature is
	// missing, wrong or expired, or its key is unknown.
	CloseUnauthorized = 4401

	// closeSilently is not a wire code: the connection is dropped without
	// a close frame (the peer has gone or stopped answering).
	closeSilently = -1
)

func closeLabel(code int) string { return strconv.Itoa(code) }

// closeCodeFor maps a Directory error to a close code: the user's own
// problems are terminal, the server's are retryable.
func closeCodeFor(err error) (code int, reason string) {
	switch chime.KindOf(err) {
	case chime.Forbidden, chime.NotFound, chime.BadRequest:
		return CloseForbidden, "Forbidden"
	}
	return CloseInternalError, "Internal error"
}
