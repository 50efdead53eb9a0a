package service

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// storedLead is a lead's durable encoding: the engine state with fields by
// name (the engine keeps them by position, which depends on the version).
type storedLead struct {
	engine.Lead
	Fields map[string]any `json:"fields"`
}

// encodeLead renders a lead for the store.
func encodeLead(m *engine.Machine, l *engine.Lead) (store.Lead, error) {
	data, err := appendStoredLead(make([]byte, 0, 512), l, m.FieldNames(), l.Fields)
	if err != nil {
		return store.Lead{}, fmt.Errorf("encode lead %s: %w", l.ID, err)
	}
	sl := leadAttrs(m, l)
	sl.Data = data
	return sl, nil
}

// leadAttrs returns what the store's indexes need of a lead, without
// encoding it (for a step's previous state).
func leadAttrs(m *engine.Machine, l *engine.Lead) store.Lead {
	st := m.Stage(l.Stage)
	return store.Lead{
		ID: l.ID, Workflow: l.Workflow, Version: l.Version, Stage: l.Stage, Owner: l.Owner,
		Terminal: st != nil && st.Terminal, Stuck: l.Stuck != nil, Seq: l.Seq, Timers: l.Timers,
	}
}

// decodeLead reads a stored lead with the machine of its version.
func decodeLead(m *engine.Machine, data []byte) (*engine.Lead, error) {
	var s storedLead
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode lead: %w", err)
	}
	l := s.Lead
	l.Fields = make([]any, len(m.W.Lead))
	for i, f := range m.W.Lead {
		v, ok := s.Fields[f.Name]
		if !ok || v == nil {
			continue
		}
		c, err := ir.Coerce(f.Type, v)
		if err != nil {
			return nil, fmt.Errorf("decode lead %s: field %s: %w", l.ID, f.Name, err)
		}
		l.Fields[i] = c
	}
	return &l, nil
}

// leadHeader reads the workflow and version of a stored lead without
// decoding its fields.
func leadHeader(data []byte) (workflow, version string, err error) {
	var h struct {
		Workflow string `json:"workflow"`
		Version  string `json:"version"`
	}
	err = json.Unmarshal(data, &h)
	return h.Workflow, h.Version, err
}

// LeadView is a lead as the API shows it (docs/api/openapi.json).
type LeadView struct {
	ID        string         `json:"id"`
	Workflow  string         `json:"workflow"`
	Version   string         `json:"version"`
	Stage     string         `json:"stage"`
	Lifecycle string         `json:"lifecycle"`
	Owner     string         `json:"owner"`
	Fields    map[string]any `json:"fields"`
	CreatedAt time.Time      `json:"created_at"`
	EnteredAt time.Time      `json:"entered_at"`
	Stuck     *Stuck         `json:"stuck"`
	SLAs      []SLAView      `json:"slas"`
}

// Stuck says why a lead is stuck until an operator moves it, and since
// when.
type Stuck struct {
	Kind   string    `json:"kind"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// SLAView is an SLA of the lead's current stage.
type SLAView struct {
	Name     string    `json:"name"`
	Deadline time.Time `json:"deadline"`
	State    string    `json:"state"`
}

// View renders a lead for the API.
func View(m *engine.Machine, l *engine.Lead) LeadView {
	v := LeadView{
		ID: l.ID, Workflow: l.Workflow, Version: l.Version, Stage: l.Stage, Owner: l.Owner,
		Fields: map[string]any{}, CreatedAt: l.CreatedAt.UTC(), EnteredAt: l.EnteredAt.UTC(),
		SLAs: []SLAView{},
	}
	if l.Stuck != nil {
		st := Stuck(*l.Stuck)
		v.Stuck = &st
	}
	if st := m.Stage(l.Stage); st != nil {
		v.Lifecycle = st.Lifecycle
	}
	for i, f := range m.W.Lead {
		if i < len(l.Fields) && l.Fields[i] != nil {
			v.Fields[f.Name] = ir.Export(l.Fields[i])
		}
	}
	for _, s := range l.SLAs {
		v.SLAs = append(v.SLAs, SLAView{Name: s.Name, Deadline: s.Deadline.UTC(), State: s.State})
	}
	return v
}
