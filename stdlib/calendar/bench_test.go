package calendar

import (
	"testing"
	"time"
)

func BenchmarkAdd(b *testing.B) {
	c := usBusiness(b)
	start := ts(b, "2026-03-02T09:00:00-05:00")
	for _, d := range []time.Duration{4 * time.Hour, 24 * time.Hour, 500 * time.Hour, 4320 * time.Hour} {
		b.Run(d.String(), func(b *testing.B) {
			for b.Loop() {
				c.Add(start, d)
			}
		})
	}
}

func BenchmarkBetween(b *testing.B) {
	c := usBusiness(b)
	start := ts(b, "2026-03-02T09:00:00-05:00")
	for _, d := range []time.Duration{24 * time.Hour, 90 * 24 * time.Hour, 100 * 365 * 24 * time.Hour} {
		end := start.Add(d)
		b.Run(d.String(), func(b *testing.B) {
			for b.Loop() {
				c.Between(start, end)
			}
		})
	}
}

func BenchmarkInHours(b *testing.B) {
	c := usBusiness(b)
	at := ts(b, "2026-03-04T12:00:00-05:00")
	for b.Loop() {
		c.InHours(at)
	}
}
