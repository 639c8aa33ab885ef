package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/belfryhq/belfry/chime"
)

// Prefetch sort orders (prefetch-sort-by).
const (
	SortUnread               = "unread"
	SortLastMessageTimestamp = "last-message-timestamp"
)

// ServeHTTP serves GET /connect. It always completes the websocket upgrade
// first: an HTTP 401 or 403 would reach amazon-chime-sdk-js as close 1006,
// which it retries forever. Failures are close codes after the upgrade
// (see codes.go). A session that passes every check receives
// SESSION_ESTABLISHED, then its CHANNEL_DETAILS if it asked for prefetch,
// then the events of its channels.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hj := &hijacker{ResponseWriter: w}
	ws, err := h.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return // not a websocket handshake; gorilla answered it
	}
	if !h.enter() {
		h.closeNow(ws, hj.conn, CloseGoingAway, "Going away")
		return
	}
	defer h.wg.Done()

	q := r.URL.Query()
	userArn := q.Get("userArn")
	log := h.log.With("user", userArn)
	p, err := h.opts.Auth.AuthenticatePresigned(r)
	if err != nil {
		if chime.KindOf(err) == "" {
			log.Error("realtime: authentication failed internally", "err", err)
			h.closeNow(ws, hj.conn, CloseInternalError, "Internal error")
			return
		}
		log.Debug("realtime: connection not authenticated", "err", err)
		h.closeNow(ws, hj.conn, CloseUnauthorized, "Unauthorized")
		return
	}
	if userArn == "" || (!p.IsRoot() && p.UserArn != userArn) {
		log.Debug("realtime: connection not authorized", "access_key_id", p.AccessKeyID, "bound_to", p.UserArn)
		h.closeNow(ws, hj.conn, CloseForbidden, "Forbidden")
		return
	}

	// Copies: the session outlives the request, whose line these would
	// otherwise keep alive.
	userArn = strings.Clone(userArn)
	id := strings.Clone(q.Get("sessionId"))
	if id == "" {
		id = newSessionID()
	}
	s := newSession(h, id, hj.conn)
	if err := h.register(s, userArn); err != nil {
		if err == errTooManyForUser {
			log.Info("realtime: session limit reached", "limit", h.opts.MaxSessionsPerUser)
			h.closeNow(ws, hj.conn, ClosePolicyViolation, "Too many sessions for this user")
		} else {
			h.closeNow(ws, hj.conn, CloseGoingAway, "Going away")
		}
		return
	}
	h.wg.Add(1) // the reader's; this handler's own count is still held
	s.start()

	ctx, cancel := context.WithCancel(r.Context())
	if !s.setLoadCancel(cancel) {
		cancel()
		return
	}
	l, err := h.load(ctx, userArn, q)
	s.setLoadCancel(nil) // an established session keeps no request context alive
	loadCanceled := ctx.Err() != nil
	cancel()
	if err != nil {
		code, reason := closeCodeFor(err)
		if !loadCanceled {
			if code == CloseForbidden {
				log.Debug("realtime: connection refused by the directory", "err", err)
			} else {
				log.Error("realtime: cannot load the session", "err", err)
			}
		}
		h.remove(s)
		s.close(code, reason, false)
		return
	}
	if h.establish(s, l.channels, l.frames) {
		log.Debug("realtime: session established", "session", id, "channels", len(l.channels))
	}
}

type loaded struct {
	channels []string
	frames   [][]byte // SESSION_ESTABLISHED, CHANNEL_DETAILS...
}

// load asks the Directory for the user's channels and, when asked for,
// the prefetch payloads, and encodes the session's first frames.
func (h *Hub) load(ctx context.Context, userArn string, q map[string][]string) (loaded, error) {
	var l loaded
	var err error
	if l.channels, err = h.opts.Directory.SessionChannels(ctx, userArn); err != nil {
		return l, err
	}
	l.frames = append(l.frames, sessionEstablished)
	if queryValue(q, "prefetch-on") != "connect" {
		return l, nil
	}
	sortBy := queryValue(q, "prefetch-sort-by")
	if sortBy != SortLastMessageTimestamp {
		sortBy = SortUnread
	}
	details, err := h.opts.Directory.Prefetch(ctx, userArn, sortBy)
	if err != nil {
		return l, err
	}
	for i := range details {
		f, err := channelDetailsFrame(&details[i])
		if err != nil {
			return l, err
		}
		l.frames = append(l.frames, f)
	}
	return l, nil
}

func queryValue(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// closeNow ends a connection that never became a session: the close frame,
// then a short wait for the client's answer so the code reaches it intact.
func (h *Hub) closeNow(ws *websocket.Conn, nc *frameConn, code int, reason string) {
	h.metrics.closes.WithLabelValues(closeLabel(code)).Inc()
	err := ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(h.opts.WriteTimeout))
	if err == nil {
		nc.SetReadDeadline(time.Now().Add(closeGrace))
		for {
			if _, _, err := ws.NextReader(); err != nil {
				break
			}
		}
	}
	nc.Close()
}

func newSessionID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "belfry-" + hex.EncodeToString(b)
}
