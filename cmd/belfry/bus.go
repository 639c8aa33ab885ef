package main

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/events/natsbus"
)

// openBus returns the event bus --bus names and what closes it: the
// in-process bus of a single node, or NATS. A NATS connection that is
// down does not fail /healthz: the node still serves the API (the relay
// keeps events until NATS is back) and its sessions resume; the gauge
// belfry_bus_connected shows it.
func openBus(cfg config, log *slog.Logger, reg prometheus.Registerer) (events.Bus, func(), error) {
	if cfg.Bus == "" {
		return events.NewMemory(), func() {}, nil
	}
	b, err := natsbus.Connect(cfg.Bus, natsbus.Options{Name: "belfry", Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("--bus: %w", err)
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
		return nil, nil, err
	}
	return b, b.Close, nil
}
