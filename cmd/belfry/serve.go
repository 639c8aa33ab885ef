package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/connlimit"
	"github.com/belfryhq/belfry/console"
	"github.com/belfryhq/belfry/flowjobs"
	"github.com/belfryhq/belfry/flows"
	"github.com/belfryhq/belfry/httpapi"
	"github.com/belfryhq/belfry/keyring"
	"github.com/belfryhq/belfry/localca"
	"github.com/belfryhq/belfry/realtime"
	"github.com/belfryhq/belfry/relay"
	"github.com/belfryhq/belfry/service"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/sweeper"
	"github.com/belfryhq/belfry/throttle"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := serveFlags(&cfg)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: belfry serve [flags]\n\nRuns the server. The root credential comes from BELFRY_ACCESS_KEY_ID and\nBELFRY_SECRET_ACCESS_KEY; when they are unset, one is generated on first start,\nstored in <data-dir>/root-credential.json and printed once.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	if err := cfg.validateServe(); err != nil {
		return err
	}
	defer startGCFloor(getenv)()
	var root rootKey
	if cfg.Store == "" || getenv("BELFRY_ACCESS_KEY_ID") != "" || getenv("BELFRY_SECRET_ACCESS_KEY") != "" {
		var err error
		if root, err = rootCredential(cfg.DataDir, getenv, stdout); err != nil {
			return err
		}
	} // else serve reads it from the store all nodes share
	return serve(ctx, cfg, root, stdout, stderr, nil)
}

// listening reports the bound addresses once the server is ready; tests use
// it to find ports chosen by the kernel.
type listening func(httpAddr, tlsAddr string)

// serve runs the server until ctx ends, then shuts down gracefully, in
// three steps: listen (the addresses the service must know), build (every
// component, wired), and, once ctx ends, shutdown.
func serve(ctx context.Context, cfg config, root rootKey, stdout, stderr io.Writer, ready listening) error {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if root.AccessKeyID == "" {
		if root, err = sharedRootCredential(ctx, st); err != nil {
			return err
		}
	}

	ls, err := listen(cfg)
	defer ls.close()
	if err != nil {
		return err
	}
	n, err := build(ctx, cfg, root, st, ls, log)
	// The background workers stop (and are waited for) before the store
	// closes.
	defer n.stopWorkers()
	if err != nil {
		return err
	}

	errc := make(chan error, 2)
	n.startServers(ctx, cfg, ls, errc)
	if ls.caCreated {
		fmt.Fprintf(stdout, "Belfry created a local certificate authority for its TLS listener: %s\n", ls.caFile)
	}
	eps := newEndpoints(ls.httpAddr, ls.tlsAddr, ls.caFile)
	if root.generated {
		printFirstStart(stdout, root, cfg.Region, eps)
	} else {
		printStart(stdout, root, cfg.Region, eps)
	}
	if cfg.Demo {
		if err := seedDemo(ctx, n.svc, cfg, root, eps, stdout); err != nil {
			log.Error("--demo: seeding the demo data failed", "err", err)
		}
	}
	log.Info("belfry ready", "node", nodeID(cfg, ls.httpAddr, ls.tlsAddr), "http", ls.httpAddr, "https", ls.tlsAddr, "messaging_endpoint", ls.wsEndpoint, "region", cfg.Region, "account", cfg.AccountID,
		"data_dir", cfg.DataDir, "root_access_key_id", root.AccessKeyID, "startup", time.Since(start).Round(time.Microsecond))
	if ready != nil {
		ready(ls.httpAddr, ls.tlsAddr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}
	n.shutdown(ctx, cfg)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// listeners are the node's sockets, opened before anything is built:
// GetMessagingSessionEndpoint answers with the websocket's address, which
// may be a kernel-chosen port. Nothing is served until everything is built.
type listeners struct {
	http, tls          net.Listener
	httpAddr, tlsAddr  string
	wsEndpoint, caFile string
	caCreated          bool
	trusted            []netip.Prefix
	connsRefused       prometheus.Counter
}

// listen opens the configured listeners; on error, close releases what
// was opened.
func listen(cfg config) (*listeners, error) {
	ls := &listeners{}
	var err error
	if ls.trusted, err = connlimit.ParsePrefixes(cfg.TrustedProxies); err != nil {
		return ls, usageError{fmt.Errorf("--trusted-proxies: %w", err)}
	}
	ls.connsRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "belfry_connections_refused_total",
		Help: "Connections closed at accept because their client address held --max-conns-per-client already.",
	})
	limitConns := func(ln net.Listener) net.Listener {
		return &connlimit.Listener{Listener: ln, Max: cfg.MaxConnsPerClient, Exempt: ls.trusted, Refused: ls.connsRefused.Inc}
	}
	if cfg.Listen != "" && cfg.Listen != "off" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return ls, fmt.Errorf("--listen: %w", err)
		}
		ls.httpAddr = ln.Addr().String()
		ls.http = limitConns(ln)
	}
	if cfg.TLSListen != "off" && cfg.TLSListen != "" {
		var tlsCfg *tls.Config
		if tlsCfg, ls.caFile, ls.caCreated, err = tlsConfig(cfg); err != nil {
			return ls, err
		}
		ln, err := net.Listen("tcp", cfg.TLSListen)
		if err != nil {
			return ls, fmt.Errorf("--tls-listen: %w", err)
		}
		ls.tlsAddr = ln.Addr().String()
		ls.tls = realtime.TLSListener(limitConns(ln), tlsCfg)
	}
	ls.wsEndpoint = messagingEndpoint(cfg.WSPublicHost, ls.httpAddr, ls.tlsAddr)
	return ls, nil
}

// close closes the listeners; after the servers' Shutdown this is a no-op.
func (ls *listeners) close() {
	for _, ln := range []net.Listener{ls.http, ls.tls} {
		if ln != nil {
			ln.Close()
		}
	}
}

// node is one built server: the service, the real-time hub, the HTTP
// handler, and the background workers running beside them.
type node struct {
	log      *slog.Logger
	svc      *service.Service
	hub      *realtime.Hub
	handler  http.Handler
	draining atomic.Bool
	servers  []*http.Server
	// stops end the background workers, in reverse order of start.
	stops []func()
}

// worker runs f until stopWorkers, which waits for it to return.
func (n *node) worker(ctx context.Context, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	n.stops = append(n.stops, func() { cancel(); <-done })
}

// stopWorkers stops the background workers, the last started first: the
// relay, started first, stops last, so the events of requests still in
// flight at shutdown reach their sessions.
func (n *node) stopWorkers() {
	for i := len(n.stops) - 1; i >= 0; i-- {
		n.stops[i]()
	}
	n.stops = nil
}

// build makes every component and wires them: bus, outbox relay, workers,
// service, keyring, hub, HTTP handler. The background workers start here;
// the listeners are served by startServers.
func build(ctx context.Context, cfg config, root rootKey, st store.Store, ls *listeners, log *slog.Logger) (*node, error) {
	n := &node{log: log}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), ls.connsRefused)
	reg.MustRegister(storeCollectors(st)...)
	bus, closeBus, busConnected, err := openBus(cfg, log, reg)
	if err != nil {
		return n, err
	}
	// The first stop registered runs last: after the relay and the other
	// workers.
	n.stops = append(n.stops, closeBus)
	hooks, err := flows.ParseWebhooks(cfg.FlowWebhooks)
	if err != nil {
		return n, usageError{fmt.Errorf("--flow-webhooks: %w", err)}
	}
	invoker, err := flows.New(ctx, flows.Config{
		LambdaEndpoint: cfg.LambdaEndpoint, Region: cfg.Region,
		Webhooks: hooks, WebhookSecret: []byte(cfg.FlowWebhookSecret),
	})
	if err != nil {
		return n, fmt.Errorf("channel-flow processors: %w", err)
	}
	nodeName := nodeID(cfg, ls.httpAddr, ls.tlsAddr)
	deliveries, err := newDeliveryWorker(ctx, cfg, st, nodeName, log, reg)
	if err != nil {
		return n, err
	}
	// The relay publishes the outbox on the bus: events committed by the
	// service, and any a previous run committed but did not publish.
	outboxRelay := relay.New(st, bus, relay.Options{Logger: log, Registerer: reg})
	// The flow-job runner drives the service's job state machine; the
	// service wakes it, so each needs the other.
	var flowRunner *flowjobs.Runner
	svc, err := service.New(ctx, st, service.Config{Region: cfg.Region, AccountID: cfg.AccountID, EventsCommitted: outboxRelay.Committed, MessagingEndpoint: ls.wsEndpoint,
		FlowJobsQueued: func() { flowRunner.Wake() }, DeliveriesQueued: deliveries.Wake})
	if err != nil {
		return n, fmt.Errorf("start service: %w", err)
	}
	n.svc = svc
	flowRunner = flowjobs.New(st, svc, invoker, flowjobs.Options{Logger: log, Node: nodeName})
	keys := keyring.New(root.AccessKeyID, root.SecretAccessKey, st, keyring.Options{Region: cfg.Region, MaxSkew: cfg.MaxClockSkew, Registerer: reg})
	// The hub subscribes to the bus before anything can publish: the
	// relay and the API start below.
	n.hub, err = realtime.NewHub(realtime.Options{
		Directory:          svc,
		Auth:               keys,
		Bus:                bus,
		Logger:             log,
		Registerer:         reg,
		MaxSessionsPerUser: cfg.MaxSessionsPerUser,
		PingInterval:       cfg.WSPingInterval,
	})
	if err != nil {
		return n, fmt.Errorf("start real-time sessions: %w", err)
	}
	n.worker(ctx, func(ctx context.Context) { outboxRelay.Run(ctx) })
	n.worker(ctx, func(ctx context.Context) { sweeper.Run(ctx, svc, cfg.SweepInterval, log) })
	// Channel-flow processing picks up, at once, messages left pending by
	// a previous run.
	n.worker(ctx, flowRunner.Run)
	// Push notifications and streaming records left queued by a previous
	// run go out at once.
	n.worker(ctx, deliveries.Run)

	var limiter *throttle.Limiter
	if cfg.RateLimits == "aws" {
		limiter = throttle.NewAWS()
	}
	api := httpapi.New(httpapi.Config{
		API:                 svc,
		Auth:                keys,
		Logger:              log,
		Registerer:          reg,
		BodyReadTimeout:     orDefault(cfg.BodyReadTimeout, defaultBodyReadTimeout),
		Throttle:            limiter,
		MaxSlowBodiesPerKey: cfg.MaxSlowBodiesPerKey,
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz(n, st, busConnected, nodeName))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The web console, and / sends a browser there. No API operation has
	// the path /, so nothing an SDK sends is taken away from the API.
	mux.Handle("GET "+console.Prefix, console.Handler())
	mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusFound))
	// The messaging-session websocket, on both listeners: the JS SDK needs
	// wss (TLS), other clients may use plain ws.
	mux.Handle("GET /connect", connlimit.Concurrent(n.hub, cfg.MaxWSHandshakes, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many websocket handshakes in progress", http.StatusServiceUnavailable)
	}))
	// Belfry's own extensions live under /_belfry/ (the only place for
	// one that is not a GET: see apiFirst): what push notifications
	// and streaming records were (or would have been) sent, and temporary
	// credentials for apps.
	mux.Handle("GET /_belfry/push-notifications", httpapi.InspectHandler(st, keys, log, store.DeliveryPush))
	mux.Handle("GET /_belfry/stream-records", httpapi.InspectHandler(st, keys, log, store.DeliveryStream))
	mux.Handle("POST /_belfry/credentials", httpapi.CredentialsHandler(keys, log, func(ctx context.Context, userArn string, ttl time.Duration) (httpapi.TemporaryCredentials, error) {
		s, err := keyring.IssueSession(ctx, st, cfg.Region, cfg.AccountID, userArn, ttl, time.Now())
		return httpapi.TemporaryCredentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken, Expiration: s.Expiration}, err
	}))
	mux.Handle("/", api)
	n.handler = connlimit.PerClient(apiFirst{api: api, mux: mux}, cfg.MaxConnsPerClient, ls.trusted, func(w http.ResponseWriter, r *http.Request) {
		httpapi.SetCORS(w, r)
		httpapi.WriteError(w, http.StatusTooManyRequests, string(chime.ThrottledClient), "Throttled", "Too many requests in flight from this client address.")
	})
	return n, nil
}

// apiFirst hands the API's writes (POST, PUT, DELETE: sends) straight to
// the API handler, past the mux, whose pattern matching and path cleaning
// cost 2-3 % of a send's CPU (docs/benchmarks.md). The mux's own routes
// are GETs, but for Belfry's extensions under /_belfry/, which still go
// through it; so does every GET and HEAD.
type apiFirst struct{ api, mux http.Handler }

func (h apiFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(r.URL.Path, "/_belfry/"):
		h.mux.ServeHTTP(w, r)
	default:
		h.api.ServeHTTP(w, r)
	}
}

// startServers serves the handler on each listener; a server's failure
// goes to errc.
func (n *node) startServers(ctx context.Context, cfg config, ls *listeners, errc chan<- error) {
	for _, ln := range []net.Listener{ls.http, ls.tls} {
		if ln == nil {
			continue
		}
		srv := &http.Server{
			Handler:           n.handler,
			ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, defaultReadHeaderTimeout),
			IdleTimeout:       orDefault(cfg.IdleTimeout, defaultIdleTimeout),
			ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		n.servers = append(n.servers, srv)
		// Serve, not ServeTLS, for the TLS listener too: ServeTLS would
		// offer h2, and websockets upgrade over HTTP/1.1.
		go func() { errc <- srv.Serve(ln) }()
	}
}

// shutdown drains the node within --shutdown-timeout: /healthz turns 503,
// the servers finish the requests in flight, then the hub closes its
// sessions (1001, so clients reconnect to another node). The workers stop
// after it returns (stopWorkers), before the store closes.
func (n *node) shutdown(ctx context.Context, cfg config) {
	n.draining.Store(true)
	n.log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range n.servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			n.log.Warn("shutdown", "err", err)
			srv.Close()
		}
	}
	// http.Server.Shutdown does not track hijacked connections: the hub
	// drains its sessions itself, after the requests in flight have
	// published their events and before the store closes.
	if err := n.hub.Shutdown(shutdownCtx); err != nil {
		n.log.Warn("shutdown: messaging sessions", "err", err)
	}
}

// orDefault treats an unset duration as its default.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func tlsConfig(cfg config) (c *tls.Config, caFile string, created bool, err error) {
	if cfg.TLSCert != "" {
		cert, err := localca.LoadKeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, "", false, err
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}, "", false, nil
	}
	host, _, _ := net.SplitHostPort(cfg.TLSListen)
	var extra []string
	if host != "" && host != "0.0.0.0" && host != "::" {
		extra = append(extra, host)
	}
	b, err := localca.Ensure(filepath.Join(cfg.DataDir, "tls"), extra)
	if err != nil {
		return nil, "", false, fmt.Errorf("local TLS certificate: %w", err)
	}
	return b.TLSConfig(), b.CAFile, b.Created, nil
}

func newLogger(cfg config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		// slog writes a time.Duration to JSON as integer nanoseconds; people
		// read "1.52ms". The text format already says it that way.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// rootKey is the account's root key pair.
type rootKey struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`

	// generated says this start created the key: the banner shows the
	// secret this once. file is where the key is kept ("" from the environment).
	generated bool
	file      string
}

// rootCredential returns the root key pair: from the environment, else from
// the data dir, else a new one, stored there (and shown by serve's banner
// this once).
func rootCredential(dataDir string, getenv func(string) string, stdout io.Writer) (rootKey, error) {
	k := rootKey{AccessKeyID: getenv("BELFRY_ACCESS_KEY_ID"), SecretAccessKey: getenv("BELFRY_SECRET_ACCESS_KEY")}
	switch {
	case k.AccessKeyID != "" && k.SecretAccessKey != "":
		return k, nil
	case k.AccessKeyID != "" || k.SecretAccessKey != "":
		return k, usageError{errors.New("set both BELFRY_ACCESS_KEY_ID and BELFRY_SECRET_ACCESS_KEY, or neither")}
	}
	path := filepath.Join(dataDir, "root-credential.json")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	k.file = path
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &k); err != nil || k.AccessKeyID == "" || k.SecretAccessKey == "" {
			return k, fmt.Errorf("%s is not a valid root credential file; remove it to generate a new one", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return k, fmt.Errorf("data dir: %w", err)
	}
	k.AccessKeyID, k.SecretAccessKey = keyring.NewKeyPair("BKRT")
	b, _ = json.MarshalIndent(k, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return k, fmt.Errorf("store root credential: %w", err)
	}
	k.generated = true
	return k, nil
}
