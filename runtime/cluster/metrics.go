package cluster

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	acquired, released, lost prometheus.Counter
	forwarded                *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, n *Node) *metrics {
	m := &metrics{
		acquired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_cluster_partitions_acquired_total", Help: "Partitions this node took (free, expired, or handed back by another node).",
		}),
		released: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_cluster_partitions_released_total", Help: "Partitions this node handed back to rebalance.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_cluster_partitions_lost_total", Help: "Partitions another node took over from this one (its lease ran out: a pause, or the database out of reach).",
		}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_cluster_forwarded_requests_total", Help: "Requests for leads of other nodes' partitions, by result (forwarded; unavailable: no owner known).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.acquired, m.released, m.lost, m.forwarded, partitionCollector{n})
	}
	return m
}

// partitionCollector reports, per partition this node holds, its epoch and
// how late its oldest due timer is (the lag of the partition's work).
type partitionCollector struct{ n *Node }

var (
	heldDesc  = prometheus.NewDesc("lead_cluster_partitions_held", "Partitions this node holds now.", []string{"node"}, nil)
	epochDesc = prometheus.NewDesc("lead_cluster_partition_epoch", "The epoch at which this node holds a partition (one more at every change of hands).",
		[]string{"node", "partition"}, nil)
	lagDesc = prometheus.NewDesc("lead_cluster_partition_timer_lag_seconds", "How long the oldest due timer of a partition this node holds has been due (0: none).",
		[]string{"node", "partition"}, nil)
)

func (c partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- heldDesc
	ch <- epochDesc
	ch <- lagDesc
}

func (c partitionCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	parts := n.Parts()
	ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(len(parts)), n.id)
	lag := map[int32]float64{}
	if len(parts) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		now := time.Now()
		rows, _ := n.pool.Query(ctx, "SELECT part, min(due) FROM timers WHERE due <= $1 AND part = ANY($2::integer[]) GROUP BY part", now.UnixNano(), parts)
		var p int32
		var due int64
		pgx.ForEachRow(rows, []any{&p, &due}, func() error {
			lag[p] = now.Sub(time.Unix(0, due)).Seconds()
			return nil
		})
	}
	for _, p := range parts {
		e, _ := n.Epoch(int(p))
		part := strconv.Itoa(int(p))
		ch <- prometheus.MustNewConstMetric(epochDesc, prometheus.GaugeValue, float64(e), n.id, part)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag[p], n.id, part)
	}
}
