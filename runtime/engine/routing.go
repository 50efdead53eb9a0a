package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/leadlang/lead/compiler/ir"
)

// Rotation is the routing state shared by all leads: each team's rotation
// and every owner's count of open (non-terminal) leads. Step only reads it;
// the changes a step makes come back as a RoutingDelta, applied when the
// step commits, so a failed step changes nothing.
type Rotation struct {
	Teams map[string]TeamState `json:"teams"` // by TeamKey
	Open  map[string]int       `json:"open"`  // open leads by owner
}

// NewRotation returns empty routing state.
func NewRotation() *Rotation {
	return &Rotation{Teams: map[string]TeamState{}, Open: map[string]int{}}
}

// TeamState is one team's rotation: the round-robin cursor (also the tie
// breaker of best_fit) and the smooth-weighted current weights.
type TeamState struct {
	Next    int            `json:"next"`
	Current map[string]int `json:"current,omitempty"`
}

// TeamKey names a team's state: teams belong to their workflow, and all
// versions of a workflow share their rotation.
func TeamKey(workflow, team string) string { return workflow + "/" + team }

// RoutingDelta is the routing-state change of one step.
type RoutingDelta struct {
	Teams map[string]TeamState `json:"teams,omitempty"` // new state of each team touched
	Open  map[string]int       `json:"open,omitempty"`  // changes to open-lead counts
}

// Empty reports whether the delta changes nothing.
func (d RoutingDelta) Empty() bool { return len(d.Teams) == 0 && len(d.Open) == 0 }

// Apply commits a step's routing changes.
func (r *Rotation) Apply(d RoutingDelta) {
	for k, t := range d.Teams {
		r.Teams[k] = t
	}
	for k, n := range d.Open {
		r.Open[k] += n
		if r.Open[k] <= 0 {
			delete(r.Open, k)
		}
	}
}

// Clone returns a deep copy.
func (r *Rotation) Clone() *Rotation {
	c := NewRotation()
	for k, t := range r.Teams {
		cur := make(map[string]int, len(t.Current))
		for m, w := range t.Current {
			cur[m] = w
		}
		c.Teams[k] = TeamState{Next: t.Next, Current: cur}
	}
	for k, n := range r.Open {
		c.Open[k] = n
	}
	return c
}

// team returns a team's state as the step sees it (delta over base).
func (s *stepper) team(name string) TeamState {
	k := TeamKey(s.m.W.Name, name)
	if t, ok := s.delta.Teams[k]; ok {
		return t
	}
	return s.rot.Teams[k]
}

func (s *stepper) setTeam(name string, t TeamState) {
	if s.delta.Teams == nil {
		s.delta.Teams = map[string]TeamState{}
	}
	s.delta.Teams[TeamKey(s.m.W.Name, name)] = t
}

func (s *stepper) open(owner string) int { return s.rot.Open[owner] + s.delta.Open[owner] }

// noOwner is a routing failure: it raises the no_owner exception.
type noOwner struct{ reason string }

func (e *noOwner) Error() string { return e.reason }

// resolve picks the owner an assignee names. exclude is left out of team
// rotations (reassign); sticky keeps the current owner when they belong to
// the team or queue (LANGUAGE.md §7.1).
func (s *stepper) resolve(a *ir.Assignee, exclude string, sticky bool) (string, error) {
	switch a.Kind {
	case ir.AssignRole:
		return a.Name, nil
	case ir.AssignUser:
		v, err := s.m.evalString(a.User, s.act())
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(v) == "" {
			return "", &noOwner{fmt.Sprintf("user target %s is empty", a.User.Src)}
		}
		return v, nil
	case ir.AssignTeam:
		return s.pick(s.m.teams[a.Name], exclude, sticky)
	case ir.AssignRoute:
		r := s.m.routings[a.Name]
		for i := range r.Rules {
			rule := &r.Rules[i]
			ok, err := s.m.evalBool(rule.When, s.act())
			if err != nil {
				return "", err
			}
			if ok {
				return s.resolve(&rule.Target, exclude, sticky)
			}
		}
		return "", &noOwner{fmt.Sprintf("routing %s matched no rule", r.Name)}
	}
	return "", &noOwner{"unknown target " + a.Kind}
}

// pick chooses a team member by the team's strategy among members who are
// on shift, under capacity and not excluded.
func (s *stepper) pick(t *ir.Team, exclude string, sticky bool) (string, error) {
	if sticky && s.lead.Owner != "" {
		for _, mb := range t.Members {
			if mb.Email == s.lead.Owner {
				return mb.Email, nil
			}
		}
	}
	if t.Calendar != "" {
		if c := s.m.cals[t.Calendar]; c != nil && !c.InHours(s.now) {
			return "", &noOwner{fmt.Sprintf("team %s is off shift (calendar %s)", t.Name, t.Calendar)}
		}
	}
	var cands []int
	full := 0
	for i, mb := range t.Members {
		if mb.Email == exclude {
			continue
		}
		if t.Capacity > 0 && s.open(mb.Email) >= t.Capacity {
			full++
			continue
		}
		cands = append(cands, i)
	}
	if len(cands) == 0 {
		reason := fmt.Sprintf("team %s has no available member", t.Name)
		if full > 0 {
			reason = fmt.Sprintf("team %s: every available member is at capacity (%d open leads)", t.Name, t.Capacity)
		}
		return "", &noOwner{reason}
	}
	st := s.team(t.Name)
	n := len(t.Members)
	// after returns the first candidate at or after the cursor, cyclically.
	after := func(among []int) int {
		best, bestDist := among[0], n+1
		for _, i := range among {
			if d := (i - st.Next%n + n) % n; d < bestDist {
				best, bestDist = i, d
			}
		}
		return best
	}
	var chosen int
	switch t.Strategy {
	case ir.Weighted:
		cur := make(map[string]int, n)
		for k, v := range st.Current {
			cur[k] = v
		}
		total := 0
		chosen = -1
		for _, i := range cands {
			mb := t.Members[i]
			cur[mb.Email] += mb.Weight
			total += mb.Weight
			if chosen < 0 || cur[mb.Email] > cur[t.Members[chosen].Email] {
				chosen = i
			}
		}
		cur[t.Members[chosen].Email] -= total
		s.setTeam(t.Name, TeamState{Next: st.Next, Current: cur})
		return t.Members[chosen].Email, nil
	case ir.LeastLoaded:
		sort.SliceStable(cands, func(a, b int) bool {
			return s.open(t.Members[cands[a]].Email) < s.open(t.Members[cands[b]].Email)
		})
		least := s.open(t.Members[cands[0]].Email)
		var tied []int
		for _, i := range cands {
			if s.open(t.Members[i].Email) == least {
				tied = append(tied, i)
			}
		}
		chosen = after(tied)
	case ir.BestFit:
		var tied []int
		best := 0.0
		for _, i := range cands {
			mb := t.Members[i]
			act := s.act()
			act.member = &memberObj{&mb}
			v, err := s.m.evalNumber(t.By, act)
			if err != nil {
				return "", err
			}
			switch {
			case len(tied) == 0 || v > best:
				best, tied = v, []int{i}
			case v == best:
				tied = append(tied, i)
			}
		}
		chosen = after(tied)
	default: // round_robin
		chosen = after(cands)
	}
	s.setTeam(t.Name, TeamState{Next: (chosen + 1) % n, Current: st.Current})
	return t.Members[chosen].Email, nil
}
