package realtime

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sessions       prometheus.Gauge
	framesSent     prometheus.Counter
	slowConsumers  prometheus.Counter
	closes         *prometheus.CounterVec
	memoryReleases prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "belfry_realtime_sessions",
			Help: "Messaging sessions open on this node (loading or established).",
		}),
		framesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belfry_realtime_frames_sent_total",
			Help: "Websocket data frames written to messaging sessions.",
		}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belfry_realtime_slow_consumer_closes_total",
			Help: "Sessions closed because their send queue was full.",
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belfry_realtime_closes_total",
			Help: "Close frames the server sent to messaging sessions, by close code.",
		}, []string{"code"}),
		memoryReleases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belfry_realtime_memory_releases_total",
			Help: "Times free heap was returned to the OS after a storm of new sessions (Options.ReleaseAfter).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sessions, m.framesSent, m.slowConsumers, m.closes, m.memoryReleases} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
