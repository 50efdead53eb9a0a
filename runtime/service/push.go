package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// A push delivers a stream the store keeps in order (the outbox, the
// step stream) to a URL by POST, at least once and in order, retrying
// with exponential backoff. The sequence number of the last delivery
// the receiver accepted (2xx) is stored, so a restart resumes there;
// each POST carries headers to de-duplicate by.
type push struct {
	stream    string // "notifications" or "steps": the metrics' label and the logs'
	url       string
	cursorKey string
	kick      chan struct{} // a commit added to the stream
	// next reads the next POST after sequence number after: its body,
	// headers and the sequence number it ends at; no body when nothing
	// is new.
	next func(ctx context.Context, after uint64) (body []byte, header http.Header, last uint64, err error)
}

// pushLoop runs a push until the service stops.
func (s *Service) pushLoop(ctx context.Context, p push) {
	client := &http.Client{Timeout: 10 * time.Second}
	after := uint64(0)
	pushing := false
	for ctx.Err() == nil {
		// Of the nodes that share a store, one pushes: the holder of
		// partition 0. It starts from the stored cursor, where the last
		// one stopped.
		if o := s.cfg.Ownership; o != nil && !o.Pushes() {
			pushing = false
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if !pushing {
			pushing = true
			after = 0
			if raw, ok, err := s.st.Meta(ctx, p.cursorKey); err == nil && ok {
				after, _ = strconv.ParseUint(string(raw), 10, 64)
			}
		}
		body, header, last, err := p.next(ctx, after)
		if err != nil && ctx.Err() == nil {
			s.log.Error("read for the webhook", "stream", p.stream, "err", err)
		}
		if body == nil {
			select {
			case <-ctx.Done():
			case <-p.kick:
			case <-time.After(time.Second):
			}
			continue
		}
		if !s.deliver(ctx, client, p, body, header) {
			return
		}
		after = last
		if err := s.st.PutMeta(ctx, p.cursorKey, []byte(strconv.FormatUint(after, 10))); err != nil {
			s.log.Error("store the webhook's cursor", "stream", p.stream, "err", err)
		}
	}
}

// deliver POSTs one body until it is accepted (2xx) or the service
// stops; it reports false on stop.
func (s *Service) deliver(ctx context.Context, client *http.Client, p push, body []byte, header http.Header) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
		if err != nil {
			s.log.Error("webhook", "stream", p.stream, "err", err)
			return false
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				s.met.webhook.WithLabelValues(p.stream, "delivered").Inc()
				return true
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		s.met.webhook.WithLabelValues(p.stream, "retry").Inc()
		s.log.Warn("webhook delivery failed; retrying", "stream", p.stream, "attempt", attempt, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// notificationPush POSTs every notification, one per request, with its
// stable id in the Lead-Notification-Id header.
func (s *Service) notificationPush() push {
	return push{stream: "notifications", url: s.cfg.Webhook, cursorKey: "webhook_cursor", kick: s.kick,
		next: func(ctx context.Context, after uint64) ([]byte, http.Header, uint64, error) {
			items, err := s.st.Outbox(ctx, after, 1)
			if err != nil || len(items) == 0 {
				return nil, nil, 0, err
			}
			var n struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(items[0].Data, &n)
			h := http.Header{"Content-Type": {"application/json"}, "Lead-Notification-Id": {n.ID}}
			return items[0].Data, h, items[0].Seq, nil
		}}
}

// stepsPerPush bounds the steps of one POST of the step stream.
const stepsPerPush = 500

// stepPush POSTs the step stream in batches of NDJSON lines (as GET
// /v1/steps answers them), with the batch's first and last sequence
// numbers in the Lead-Steps header ("FIRST-LAST").
func (s *Service) stepPush() push {
	return push{stream: "steps", url: s.cfg.StepsWebhook, cursorKey: "steps_webhook_cursor", kick: s.stepKick,
		next: func(ctx context.Context, after uint64) ([]byte, http.Header, uint64, error) {
			steps, err := s.st.Steps(ctx, after, stepsPerPush)
			if err != nil || len(steps) == 0 {
				return nil, nil, 0, err
			}
			var body []byte
			for _, st := range steps {
				body = AppendStepLine(body, Step(st))
			}
			first, last := steps[0].Seq, steps[len(steps)-1].Seq
			h := http.Header{"Content-Type": {"application/x-ndjson"}, "Lead-Steps": {fmt.Sprintf("%d-%d", first, last)}}
			return body, h, last, nil
		}}
}

// AppendStepLine appends a step as one line of the step stream:
// {"seq": N, "lead": ID, "step": ENTRY} and a newline.
func AppendStepLine(b []byte, st Step) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, st.Seq, 10)
	b = append(b, `,"lead":`...)
	b = appendString(b, st.LeadID)
	b = append(b, `,"step":`...)
	b = append(b, st.Entry...)
	return append(b, "}\n"...)
}
