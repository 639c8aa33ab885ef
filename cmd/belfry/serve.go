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
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/connlimit"
	"github.com/belfryhq/belfry/console"
	"github.com/belfryhq/belfry/delivery"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/flows"
	"github.com/belfryhq/belfry/httpapi"
	"github.com/belfryhq/belfry/keyring"
	"github.com/belfryhq/belfry/localca"
	"github.com/belfryhq/belfry/realtime"
	"github.com/belfryhq/belfry/service"
	"github.com/belfryhq/belfry/store"
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

// serve runs the server until ctx ends, then shuts down gracefully.
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

	// Listen before building the service: GetMessagingSessionEndpoint
	// answers with the websocket's address, which may be a kernel-chosen
	// port. Nothing is served until everything is built.
	var httpLn, tlsLn net.Listener
	var httpAddr, tlsAddr, caFile string
	var caCreated bool
	defer func() {
		for _, ln := range []net.Listener{httpLn, tlsLn} {
			if ln != nil {
				ln.Close() // after Shutdown this is a no-op
			}
		}
	}()
	trusted, err := connlimit.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return usageError{fmt.Errorf("--trusted-proxies: %w", err)}
	}
	connsRefused := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "belfry_connections_refused_total",
		Help: "Connections closed at accept because their client address held --max-conns-per-client already.",
	})
	limitConns := func(ln net.Listener) net.Listener {
		return &connlimit.Listener{Listener: ln, Max: cfg.MaxConnsPerClient, Exempt: trusted, Refused: connsRefused.Inc}
	}
	if cfg.Listen != "" && cfg.Listen != "off" {
		if httpLn, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		httpAddr = httpLn.Addr().String()
		httpLn = limitConns(httpLn)
	}
	if cfg.TLSListen != "off" && cfg.TLSListen != "" {
		var tlsCfg *tls.Config
		if tlsCfg, caFile, caCreated, err = tlsConfig(cfg); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.TLSListen)
		if err != nil {
			return fmt.Errorf("--tls-listen: %w", err)
		}
		tlsAddr = ln.Addr().String()
		tlsLn = tls.NewListener(limitConns(ln), tlsCfg)
	}
	wsEndpoint := messagingEndpoint(cfg.WSPublicHost, httpAddr, tlsAddr)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), connsRefused)
	reg.MustRegister(storeCollectors(st)...)
	bus := events.NewMemory()
	hooks, err := flows.ParseWebhooks(cfg.FlowWebhooks)
	if err != nil {
		return usageError{fmt.Errorf("--flow-webhooks: %w", err)}
	}
	invoker, err := flows.New(ctx, flows.Config{
		LambdaEndpoint: cfg.LambdaEndpoint, Region: cfg.Region,
		Webhooks: hooks, WebhookSecret: []byte(cfg.FlowWebhookSecret),
	})
	if err != nil {
		return fmt.Errorf("channel-flow processors: %w", err)
	}
	deliveries, err := newDeliveryWorker(ctx, cfg, st, log, reg)
	if err != nil {
		return err
	}
	svc, err := service.New(ctx, st, service.Config{Region: cfg.Region, AccountID: cfg.AccountID, Bus: bus, MessagingEndpoint: wsEndpoint, Flows: invoker,
		DeliveriesQueued: deliveries.Wake})
	if err != nil {
		return fmt.Errorf("start service: %w", err)
	}
	keys := keyring.New(root.AccessKeyID, root.SecretAccessKey, st, keyring.Options{Region: cfg.Region, MaxSkew: cfg.MaxClockSkew, Registerer: reg})
	// The hub subscribes to the bus before anything can publish: the
	// sweeper and the API start below.
	hub, err := realtime.NewHub(realtime.Options{
		Directory:          svc,
		Auth:               keys,
		Bus:                bus,
		Logger:             log,
		Registerer:         reg,
		MaxSessionsPerUser: cfg.MaxSessionsPerUser,
		PingInterval:       cfg.WSPingInterval,
	})
	if err != nil {
		return fmt.Errorf("start real-time sessions: %w", err)
	}
	// The sweeper stops (and is waited for) before the store closes.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		svc.RunSweeper(sweepCtx, cfg.SweepInterval, log)
	}()
	defer func() { stopSweep(); <-sweepDone }()
	// Channel-flow processing picks up, at once, messages left pending by a
	// previous run; it stops (and is waited for) before the store closes.
	flowsCtx, stopFlows := context.WithCancel(ctx)
	flowsDone := make(chan struct{})
	go func() {
		defer close(flowsDone)
		svc.RunFlows(flowsCtx, log)
	}()
	defer func() { stopFlows(); <-flowsDone }()
	// Push notifications and streaming records left queued by a previous
	// run go out at once; the worker stops before the store closes.
	deliveriesCtx, stopDeliveries := context.WithCancel(ctx)
	deliveriesDone := make(chan struct{})
	go func() {
		defer close(deliveriesDone)
		deliveries.Run(deliveriesCtx)
	}()
	defer func() { stopDeliveries(); <-deliveriesDone }()

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

	var draining atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The web console, and / sends a browser there. No API operation has
	// the path /, so nothing an SDK sends is taken away from the API.
	mux.Handle("GET "+console.Prefix, console.Handler())
	mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusFound))
	// The messaging-session websocket, on both listeners: the JS SDK needs
	// wss (TLS), other clients may use plain ws.
	mux.Handle("GET /connect", connlimit.Concurrent(hub, cfg.MaxWSHandshakes, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many websocket handshakes in progress", http.StatusServiceUnavailable)
	}))
	// Belfry's own extensions live under /_belfry/: what push notifications
	// and streaming records were (or would have been) sent, and temporary
	// credentials for apps.
	mux.Handle("GET /_belfry/push-notifications", delivery.InspectHandler(st, keys, store.DeliveryPush))
	mux.Handle("GET /_belfry/stream-records", delivery.InspectHandler(st, keys, store.DeliveryStream))
	mux.Handle("POST /_belfry/credentials", httpapi.CredentialsHandler(keys, log, func(ctx context.Context, userArn string, ttl time.Duration) (httpapi.TemporaryCredentials, error) {
		s, err := keyring.IssueSession(ctx, st, cfg.Region, cfg.AccountID, userArn, ttl, time.Now())
		return httpapi.TemporaryCredentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken, Expiration: s.Expiration}, err
	}))
	mux.Handle("/", api)
	var handler http.Handler = connlimit.PerClient(mux, cfg.MaxConnsPerClient, trusted, func(w http.ResponseWriter, r *http.Request) {
		httpapi.SetCORS(w, r)
		httpapi.WriteError(w, http.StatusTooManyRequests, string(chime.ThrottledClient), "Throttled", "Too many requests in flight from this client address.")
	})

	var servers []*http.Server
	errc := make(chan error, 2)
	newServer := func() *http.Server {
		return &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, defaultReadHeaderTimeout),
			IdleTimeout:       orDefault(cfg.IdleTimeout, defaultIdleTimeout),
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
	}
	if httpLn != nil {
		srv := newServer()
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(httpLn) }()
	}
	if tlsLn != nil {
		srv := newServer()
		servers = append(servers, srv)
		// Serve, not ServeTLS: ServeTLS would offer h2, and websockets
		// upgrade over HTTP/1.1.
		go func() { errc <- srv.Serve(tlsLn) }()
		if caCreated {
			fmt.Fprintf(stdout, "Belfry created a local certificate authority for its TLS listener: %s\n", caFile)
		}
	}
	eps := newEndpoints(httpAddr, tlsAddr, caFile)
	if root.generated {
		printFirstStart(stdout, root, cfg.Region, eps)
	} else {
		printStart(stdout, root, cfg.Region, eps)
	}
	if cfg.Demo {
		if err := seedDemo(ctx, svc, cfg, root, eps, stdout); err != nil {
			log.Error("--demo: seeding the demo data failed", "err", err)
		}
	}
	log.Info("belfry ready", "http", httpAddr, "https", tlsAddr, "messaging_endpoint", wsEndpoint, "region", cfg.Region, "account", cfg.AccountID,
		"data_dir", cfg.DataDir, "root_access_key_id", root.AccessKeyID, "startup", time.Since(start).Round(time.Microsecond))
	if ready != nil {
		ready(httpAddr, tlsAddr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}
	draining.Store(true)
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Warn("shutdown", "err", err)
			srv.Close()
		}
	}
	// http.Server.Shutdown does not track hijacked connections: the hub
	// drains its sessions itself (close 1001, so clients reconnect to
	// another node), after the requests in flight have published their
	// events and before the store closes.
	if err := hub.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown: messaging sessions", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	log.Info("stopped")
	return nil
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
