package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/events/natsbus"
)

// openBus returns the event bus --bus names, what closes it, and whether
// it is connected (nil for the in-process bus of a single node, which
// always is). A NATS connection that is down turns /healthz 503: the
// node's sessions get no live events meanwhile, so the load balancer
// should send new sessions to nodes that do (the relay keeps events until
// NATS is back, and this node's sessions resume then); the gauge
// belfry_bus_connected shows it too.
func openBus(cfg config, log *slog.Logger, reg prometheus.Registerer) (events.Bus, func(), func() bool, error) {
	if cfg.Bus == "" {
		return events.NewMemory(), func() {}, nil, nil
	}
	b, err := natsbus.Connect(cfg.Bus, natsbus.Options{Name: "belfry", Logger: log, Replicas: cfg.BusReplicas})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--bus: %w", err)
	}
	log.Info("event bus: NATS", "server", b.ConnectedURL())
	connected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "belfry_bus_connected", Help: "1 while the connection to the NATS event bus is up."},
		func() float64 {
			if b.Connected() {
				return 1
			}
			return 0
		})
	if err := reg.Register(connected); err != nil {
		b.Close()
		return nil, nil, nil, err
	}
	return b, b.Close, b.Connected, nil
}

// healthz answers whether this node can serve: 200 while it is not
// shutting down, reaches its store and (with --bus) is connected to NATS,
// else 503. The body says which, one "what: state" line each after the
// verdict, for people and scripts; load balancers read the status.
func healthz(n *node, st interface{ Ping(context.Context) error }, busConnected func() bool, nodeName string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		storeState, busState := "ok", "in-process"
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		if err := st.Ping(ctx); err != nil {
			storeState = "unreachable"
		}
		cancel()
		if busConnected != nil {
			busState = "connected"
			if !busConnected() {
				busState = "disconnected"
			}
		}
		verdict, code := "ok", http.StatusOK
		switch {
		case n.draining.Load():
			verdict, code = "shutting down", http.StatusServiceUnavailable
		case storeState != "ok" || busState == "disconnected":
			verdict, code = "unavailable", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		fmt.Fprintf(w, "%s\nnode: %s\nstore: %s\nbus: %s\n", verdict, nodeName, storeState, busState)
	}
}
