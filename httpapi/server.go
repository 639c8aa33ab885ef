package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/throttle"
)

// MaxBodyBytes bounds a request body. The largest legitimate body (a
// SearchChannels with 20 fields of 20 ARNs) is well under it.
const MaxBodyBytes = 1 << 20

// Authenticator decides who signed a request. body is the whole request
// body, already read. Failures are *chime.Error values of the
// authentication kinds (InvalidSignature, UnrecognizedClient, …).
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (chime.Principal, error)
}

// StagedAuthenticator is an Authenticator that can refuse a request from
// its headers alone. The Handler asks it before reading the body, so that a
// client with no valid credentials cannot hold a connection open by
// trickling a body; the returned function finishes with the body.
type StagedAuthenticator interface {
	Authenticator
	BeginAuthenticate(r *http.Request) (finish func(body []byte) (chime.Principal, error), err error)
}

// Config holds what a Handler needs.
type Config struct {
	API    chime.API
	Auth   Authenticator
	Logger *slog.Logger
	// Registerer receives the request metrics; nil disables them.
	Registerer prometheus.Registerer
	// BodyReadTimeout bounds reading a request body, from the end of the
	// headers; zero means no bound.
	BodyReadTimeout time.Duration
	// Throttle applies request rates; nil allows everything.
	Throttle *throttle.Limiter
	// MaxSlowBodiesPerKey bounds, per access key, the requests whose body
	// is still arriving a moment after their headers; more are refused
	// (429) at once. Zero means no bound.
	MaxSlowBodiesPerKey int
}

// Handler serves both Chime SDK REST APIs.
type Handler struct {
	api       chime.API
	auth      Authenticator
	bodyWait  time.Duration
	throttle  *throttle.Limiter
	throttled *prometheus.CounterVec
	slow      *bodyGate
	log       *slog.Logger
	router    *router
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	// opMetrics holds each operation's latency observer and the counter of
	// its success status, looked up once instead of per request.
	opMetrics map[string]*opMetrics
}

type opMetrics struct {
	latency prometheus.Observer
	success prometheus.Counter
	status  int
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	h := &Handler{api: cfg.API, auth: cfg.Auth, log: cfg.Logger, router: newRouter(routes), bodyWait: cfg.BodyReadTimeout, throttle: cfg.Throttle}
	if cfg.MaxSlowBodiesPerKey > 0 {
		h.slow = &bodyGate{max: cfg.MaxSlowBodiesPerKey}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "belfry_api_requests_total",
		Help: "API requests by operation and HTTP status.",
	}, []string{"operation", "status"})
	h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "belfry_api_request_duration_seconds",
		Help:    "API request latency by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"operation"})
	h.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "belfry_throttled_requests_total",
		Help: "Requests refused with ThrottledClientException, by operation.",
	}, []string{"operation"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(h.requests, h.latency, h.throttled)
	}
	h.opMetrics = make(map[string]*opMetrics, len(routes))
	for _, rt := range routes {
		h.opMetrics[rt.op.Name] = &opMetrics{
			latency: h.latency.WithLabelValues(rt.op.Name),
			success: h.requests.WithLabelValues(rt.op.Name, strconv.Itoa(rt.op.SuccessStatus)),
			status:  rt.op.SuccessStatus,
		}
	}
	return h
}

// observe counts one request and its latency.
func (h *Handler) observe(op string, status int, elapsed time.Duration) {
	if m := h.opMetrics[op]; m != nil {
		if status == m.status {
			m.success.Inc()
		} else {
			h.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
		}
		m.latency.Observe(elapsed.Seconds())
		return
	}
	h.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	h.latency.WithLabelValues(op).Observe(elapsed.Seconds())
}

// exposedHeaders are the response headers browser SDKs must be able to read:
// the error type carries the modeled exception, the request id ends up in
// $metadata, and Date drives clock-skew correction.
const exposedHeaders = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date, Retry-After"

const allowedHeaders = "authorization, content-type, x-amz-date, x-amz-security-token, x-amz-user-agent, x-amz-content-sha256, x-amz-chime-bearer, amz-sdk-invocation-id, amz-sdk-request"

// Header values every response carries, shared rather than allocated per
// response. Nothing changes a header value in place: Set replaces the
// slice, and Add on these full slices copies them first.
var (
	anyOrigin       = []string{"*"}
	varyOrigin      = []string{"Origin"}
	exposedList     = []string{exposedHeaders}
	applicationJSON = []string{"application/json"}
)

// Canonical header keys (as Header.Set would store them), so that setting
// them costs no canonicalisation.
const (
	hdrRequestID  = "X-Amzn-Requestid"
	hdrErrorType  = "X-Amzn-Errortype"
	hdrBearer     = "X-Amz-Chime-Bearer"
	hdrRetryAfter = "Retry-After"
)

// SetCORS writes the CORS headers every response carries, so a browser page
// served from anywhere can use the APIs (the SDK sends no cookies).
func SetCORS(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		hdr["Access-Control-Allow-Origin"] = []string{origin}
	} else {
		hdr["Access-Control-Allow-Origin"] = anyOrigin
	}
	if _, ok := hdr["Vary"]; ok {
		hdr.Add("Vary", "Origin")
	} else {
		hdr["Vary"] = varyOrigin
	}
	hdr["Access-Control-Expose-Headers"] = exposedList
}

// exchange is the per-request state of one API call, allocated at once.
type exchange struct {
	rec    statusRecorder
	d      decoder
	segBuf [8]string
	values [2]string // the request id and Content-Length header values
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{}
	reqID := newRequestID(&x.values[0])
	w.Header()[hdrRequestID] = x.values[0:1:1]
	SetCORS(w, r)
	if r.Method == http.MethodOptions {
		h.preflight(w, r)
		return
	}
	opName := "unknown"
	rec := &x.rec
	rec.ResponseWriter = w
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic serving request", "request_id", reqID, "operation", opName, "panic", p)
			if !rec.wrote {
				h.writeError(rec, reqID, chime.Errorf(chime.ServiceFailure, "An internal error occurred. Request id %s.", reqID))
			}
		}
		elapsed := time.Since(start)
		h.observe(opName, rec.status, elapsed)
		// The request log: what was called and how it went, never who
		// signed it or what was sent (credentials, message contents).
		if h.log.Enabled(r.Context(), slog.LevelDebug) {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
				slog.String("operation", opName), slog.Int("status", rec.status),
				slog.Duration("duration", elapsed), slog.String("request_id", reqID))
		}
	}()

	out, op, err := h.serve(w, r, x, &opName)
	if err != nil {
		if errors.Is(err, errBodyUnread) {
			// The body was not read (authentication failed on the headers,
			// or the client was too slow): close the connection after the
			// answer rather than let net/http wait for the rest of the body.
			rec.Header().Set("Connection", "close")
			h.writeError(rec, reqID, err)
			setReadDeadline(w, time.Now())
			return
		}
		h.writeError(rec, reqID, err)
		return
	}
	if !op.HasOutput || out == nil {
		rec.WriteHeader(op.SuccessStatus)
		return
	}
	if l, ok := out.(interface{ SetEmptyLists() }); ok {
		l.SetEmptyLists()
	}
	var b []byte
	if enc, ok := out.(interface{ AppendJSON([]byte) []byte }); ok {
		// The generated encoder writes what json.Marshal would, without
		// reflection, into a recycled buffer: the response writer copies
		// what it is given before Write returns.
		bp := responseBufs.Get().(*[]byte)
		b = enc.AppendJSON((*bp)[:0])
		defer func() {
			if cap(b) <= maxPooledResponse {
				*bp = b[:0]
				responseBufs.Put(bp)
			}
		}()
	} else if b, err = json.Marshal(out); err != nil {
		h.writeError(rec, reqID, err)
		return
	}
	hdr := rec.Header()
	hdr["Content-Type"] = applicationJSON
	x.values[1] = strconv.Itoa(len(b))
	hdr["Content-Length"] = x.values[1:2:2]
	rec.WriteHeader(op.SuccessStatus)
	rec.Write(b)
}

// responseBufs recycles response-body buffers; one larger than
// maxPooledResponse is left to the collector rather than kept.
var responseBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledResponse = 256 << 10

// newRequestID returns a random (version 4) UUID, as AWS's request ids
// are, formatted into *dst.
func newRequestID(dst *string) string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	*dst = string(b[:])
	return *dst
}

// setReadDeadline is http.ResponseController's SetReadDeadline without
// allocating the controller.
func setReadDeadline(w http.ResponseWriter, t time.Time) error {
	for {
		switch u := w.(type) {
		case interface{ SetReadDeadline(time.Time) error }:
			return u.SetReadDeadline(t)
		case interface{ Unwrap() http.ResponseWriter }:
			w = u.Unwrap()
		default:
			return http.ErrNotSupported
		}
	}
}

// errBodyUnread marks an error answered before the whole body was read.
var errBodyUnread = errors.New("request body not read")

// unreadError wraps a refusal given before the body was read.
type unreadError struct{ error }

func (e unreadError) Unwrap() []error { return []error{e.error, errBodyUnread} }

// serve authenticates, routes, decodes and calls one operation.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, x *exchange, opName *string) (any, *chime.Operation, error) {
	hasBody := r.ContentLength != 0
	authenticate := h.auth.Authenticate
	if sa, ok := h.auth.(StagedAuthenticator); ok {
		finish, err := sa.BeginAuthenticate(r)
		if err != nil {
			if hasBody {
				return nil, nil, unreadError{err}
			}
			return nil, nil, err
		}
		authenticate = func(_ *http.Request, body []byte) (chime.Principal, error) { return finish(body) }
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, nil, unreadError{chime.Errorf(chime.BadRequest, "The request body exceeds the limit of %d bytes.", MaxBodyBytes)}
	}
	// The body's read deadline is set by the slow-body gate's timer when
	// it fires, if the body is still arriving then; else at once.
	lazyDeadline := h.slow != nil && hasBody && h.bodyWait > slowBodyGrace
	if h.bodyWait > 0 && hasBody && !lazyDeadline {
		setReadDeadline(w, time.Now().Add(h.bodyWait))
		// The server sets the next request's deadlines itself; this one
		// must not outlive the body and fire in the middle of the response.
		defer setReadDeadline(w, time.Time{})
	}
	var stopWatch func() (refused, armed bool)
	if h.slow != nil && hasBody {
		var deadline time.Time
		if lazyDeadline {
			deadline = time.Now().Add(h.bodyWait)
		}
		stopWatch = h.slow.watch(w, accessKeyOf(r), deadline)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if stopWatch != nil {
		refused, armed := stopWatch()
		if armed {
			defer setReadDeadline(w, time.Time{})
		}
		if refused {
			return nil, nil, unreadError{chime.Errorf(chime.ThrottledClient, "Too many requests signed with this access key are still sending their body.")}
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, unreadError{chime.Errorf(chime.BadRequest, "The request body exceeds the limit of %d bytes.", MaxBodyBytes)}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil, unreadError{chime.Errorf(chime.BadRequest, "The request body was not received within %s.", h.bodyWait)}
		}
		return nil, nil, unreadError{chime.Errorf(chime.BadRequest, "The request body could not be read: %v.", err)}
	}
	principal, err := authenticate(r, body)
	if err != nil {
		return nil, nil, err
	}
	segs := splitPathInto(x.segBuf[:0], rawPath(r))
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	rt := h.router.match(r.Method, segs, func(k string) (string, bool) {
		vs, ok := query[k]
		if !ok || len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	})
	if rt == nil {
		if h.router.knownPath(segs) {
			return nil, nil, chime.Errorf(chime.UnknownOperation, "No operation of the Chime SDK APIs answers %s on %s.", r.Method, r.URL.EscapedPath())
		}
		return nil, nil, chime.Errorf(chime.UnknownOperation, "No operation of the Chime SDK APIs has the path %s.", r.URL.EscapedPath())
	}
	*opName = rt.op.Name
	if h.throttle != nil {
		if err := h.throttle.Allow(throttleCall(rt.op, r, segs, query, body)); err != nil {
			h.throttled.WithLabelValues(rt.op.Name).Inc()
			var refusal *throttle.Refusal
			if errors.As(err, &refusal) {
				// Not sent by AWS; the JS SDK v3 (and other HTTP clients)
				// wait at least this long before retrying.
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(refusal.RetryAfter.Seconds()))))
			}
			return nil, nil, chime.Errorf(chime.ThrottledClient, "%v", err)
		}
	}
	d := &x.d
	*d = decoder{r: r, body: body, segments: segs, query: query, op: rt.op}
	ctx := chime.WithPrincipal(r.Context(), principal)
	out, err := rt.call(ctx, h.api, d)
	return out, rt.op, err
}

// rawPath is the path exactly as the client sent it, percent-escapes intact.
func rawPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.EscapedPath()
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		hdr.Set("Access-Control-Allow-Headers", req)
	} else {
		hdr.Set("Access-Control-Allow-Headers", allowedHeaders)
	}
	hdr.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusOK)
}

// errorBody is the rest-json error document of the Chime services.
type errorBody struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// writeError sends err the way AWS SDKs parse it: the exception name in
// x-amzn-ErrorType, {"Code","Message"} in the body, the model's status.
// Anything that is not a *chime.Error is an internal failure: logged with
// the request id, shown to the client only as ServiceFailure.
func (h *Handler) writeError(w http.ResponseWriter, reqID string, err error) {
	var ce *chime.Error
	if !errors.As(err, &ce) {
		h.log.Error("internal error", "request_id", reqID, "err", err)
		ce = chime.Errorf(chime.ServiceFailure, "An internal error occurred. Request id %s.", reqID)
	}
	status, code := wireInfo(ce.Kind)
	if status >= 500 {
		h.log.Warn("request failed", "request_id", reqID, "kind", ce.Kind, "message", ce.Message)
	}
	WriteError(w, status, string(ce.Kind), code, ce.Message)
}

// WriteError writes an AWS rest-json error response. The body is what
// json.NewEncoder(w).Encode(errorBody{code, message}) writes, newline
// included, built without reflection: refusals come in floods too.
func WriteError(w http.ResponseWriter, status int, kind, code, message string) {
	b := make([]byte, 0, len(`{"Code":"","Message":""}`)+len(code)+len(message)+16)
	b = append(b, `{"Code":`...)
	b = chime.AppendJSONString(b, code)
	b = append(b, `,"Message":`...)
	b = chime.AppendJSONString(b, message)
	b = append(b, "}\n"...)
	hdr := w.Header()
	hdr[hdrErrorType] = []string{kind}
	hdr["Content-Type"] = applicationJSON
	hdr["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

// wireInfo maps an error kind to its HTTP status and body Code: the modeled
// exceptions from the models, the rest from AWS's front door.
func wireInfo(kind chime.ErrorKind) (int, string) {
	if status, code, ok := chime.ExceptionInfo(kind); ok {
		return status, code
	}
	code := strings.TrimSuffix(string(kind), "Exception")
	switch kind {
	case chime.MissingAuthenticationToken, chime.IncompleteSignature, chime.InvalidSignature, chime.UnrecognizedClient, chime.ExpiredToken:
		return http.StatusForbidden, code
	case chime.UnknownOperation:
		return http.StatusNotFound, code
	case chime.NotImplemented:
		return http.StatusNotImplemented, code
	}
	return http.StatusInternalServerError, code
}

// statusRecorder remembers the status written, for metrics and for knowing
// whether a panic can still be answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.wrote {
		return
	}
	s.status, s.wrote = code, true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}
