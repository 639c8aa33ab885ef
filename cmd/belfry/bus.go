package main

import (
	"fmt"
	"log/slog"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/events/natsbus"
)

// openBus returns the event bus --bus names and what closes it: the
// in-process bus of a single node, or NATS.
func openBus(cfg config, log *slog.Logger) (events.Bus, func(), error) {
	if cfg.Bus == "" {
		return events.NewMemory(), func() {}, nil
	}
	b, err := natsbus.Connect(cfg.Bus, natsbus.Options{Name: "belfry", Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("--bus: %w", err)
	}
	log.Info("event bus: NATS", "server", b.ConnectedURL())
	return b, b.Close, nil
}
