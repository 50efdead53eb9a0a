package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/leadlang/lead/compiler/ir"
)

// Rotation is the routing state shared by all leads: each team's rotation
// and every owner's count of open (non-terminal) leads. Step only reads it;
// the changes a step makes come back as a RoutingDelta, applied when the
// step commits, so a failed step changes nothing.
type Rotation struct {
	Teams map[string]TeamState `json:"teams"` // by TeamKey
	Open  map[string]int       `json:"open"`  // open leads by owner
	// raw keeps the stored form of the teams read from a store and not
	// changed since, so that Row gives back what the store holds.
	raw map[string][]byte
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

// RoutingDelta is the routing-state change of one step: small lists,
// since a step touches a team or two and changes at most two counts.
type RoutingDelta struct {
	Teams []TeamDelta `json:"teams,omitempty"` // new state of each team touched
	Open  []OpenDelta `json:"open,omitempty"`  // changes to open-lead counts
	// Read names the rows (TeamRow+key, OpenRow+owner) the step's
	// routing decisions read: the decisions hold only as long as those
	// rows are as the step saw them (nodes that share a store commit
	// them as a compare and set).
	Read []string `json:"read,omitempty"`
}

// TeamDelta is a team's new rotation state, by TeamKey.
type TeamDelta struct {
	Key   string    `json:"key"`
	State TeamState `json:"state"`
}

// OpenDelta changes an owner's count of open leads.
type OpenDelta struct {
	Owner  string `json:"owner"`
	Change int    `json:"change"`
}

// Empty reports whether the delta changes nothing.
func (d RoutingDelta) Empty() bool { return len(d.Teams) == 0 && len(d.Open) == 0 && len(d.Read) == 0 }

// Apply commits a step's routing changes.
func (r *Rotation) Apply(d RoutingDelta) {
	if r.Teams == nil {
		r.Teams = map[string]TeamState{}
	}
	if r.Open == nil {
		r.Open = map[string]int{}
	}
	for _, t := range d.Teams {
		r.Teams[t.Key] = t.State
		delete(r.raw, t.Key)
	}
	for _, o := range d.Open {
		r.Open[o.Owner] += o.Change
		if r.Open[o.Owner] <= 0 {
			delete(r.Open, o.Owner)
		}
	}
}

// Routing state rows. A store keeps the routing state as rows, one per
// team ("team/KEY": its TeamState as JSON) and one per owner with open
// leads ("open/OWNER": the count in decimal), so that a step writes the
// few rows it changed, not one row every routed step of every lead
// rewrites (a hot spot for a database shared by several nodes).
const (
	TeamRow = "team/"
	OpenRow = "open/"
)

// Row returns a row's value as the store keeps it, nil for none: a team's
// state as it was read from the store (if unchanged since) or as JSON, an
// owner's open-lead count in decimal.
func (r *Rotation) Row(name string) []byte {
	switch {
	case strings.HasPrefix(name, TeamRow):
		key := name[len(TeamRow):]
		if raw, ok := r.raw[key]; ok {
			return raw
		}
		t, ok := r.Teams[key]
		if !ok {
			return nil
		}
		b, _ := json.Marshal(t) // ints and strings always marshal
		return b
	case strings.HasPrefix(name, OpenRow):
		if n := r.Open[name[len(OpenRow):]]; n > 0 {
			return strconv.AppendInt(nil, int64(n), 10)
		}
	}
	return nil
}

// SetRow replaces a row's value with one read from the store (nil: none).
func (r *Rotation) SetRow(name string, v []byte) error {
	switch {
	case strings.HasPrefix(name, TeamRow):
		key := name[len(TeamRow):]
		if v == nil {
			delete(r.Teams, key)
			delete(r.raw, key)
			return nil
		}
		var t TeamState
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("routing state row %s: %w", name, err)
		}
		r.Teams[key] = t
		if r.raw == nil {
			r.raw = map[string][]byte{}
		}
		r.raw[key] = v
	case strings.HasPrefix(name, OpenRow):
		owner := name[len(OpenRow):]
		n := 0
		if v != nil {
			var err error
			if n, err = strconv.Atoi(string(v)); err != nil {
				return fmt.Errorf("routing state row %s: %w", name, err)
			}
		}
		if n > 0 {
			r.Open[owner] = n
		} else {
			delete(r.Open, owner)
		}
	default:
		return fmt.Errorf("routing state row %s: not a team or an owner", name)
	}
	return nil
}

// RotationFromRows rebuilds routing state from its rows.
func RotationFromRows(rows map[string][]byte) (*Rotation, error) {
	r := NewRotation()
	for k, v := range rows {
		if err := r.SetRow(k, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// read records that the step's decision read a routing row.
func (s *stepper) read(row string) {
	for _, r := range s.delta.Read {
		if r == row {
			return
		}
	}
	s.delta.Read = append(s.delta.Read, row)
}

// team returns a team's state as the step sees it (delta over base).
func (s *stepper) team(rt *teamRT) TeamState {
	s.read(rt.row)
	for _, t := range s.delta.Teams {
		if t.Key == rt.key {
			return t.State
		}
	}
	return s.rot.Teams[rt.key]
}

func (s *stepper) setTeam(rt *teamRT, t TeamState) {
	for i := range s.delta.Teams {
		if d := &s.delta.Teams[i]; d.Key == rt.key {
			s.record(undoRec{kind: undoTeam, i: i, team: d.State, had: true})
			d.State = t
			return
		}
	}
	s.record(undoRec{kind: undoTeam})
	if s.delta.Teams == nil {
		s.delta.Teams = s.res.teamBuf[:0]
	}
	s.delta.Teams = append(s.delta.Teams, TeamDelta{Key: rt.key, State: t})
}

// load is the count of open leads of a team's member i, not counting this
// lead: keeping or taking back a lead one already owns never exceeds
// one's capacity.
func (s *stepper) load(rt *teamRT, i int) int {
	s.read(rt.openRows[i])
	owner := rt.t.Members[i].Email
	n := s.rot.Open[owner]
	if s.old != nil && s.old.Owner == owner && !s.m.terminal(s.old.Stage) {
		n--
	}
	return n
}

// noOwner is a routing failure: it raises the no_owner exception.
type noOwner struct{ reason string }

func (e *noOwner) Error() string { return e.reason }

// resolve picks the owner an assignee names. exclude is left out of team
// rotations (reassign); role and user targets ignore it. sticky keeps the
// current owner when they belong to the team (the language reference §7.1); for a
// role queue the owner is the queue either way.
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
		if len(v) > 1024 || strings.ContainsFunc(v, unicode.IsControl) {
			return "", &noOwner{fmt.Sprintf("user target %s is not a usable name (%d bytes, control characters not allowed)", a.User.Src, len(v))}
		}
		return v, nil
	case ir.AssignTeam:
		rt := s.m.teams[a.Name]
		if rt == nil {
			return "", &noOwner{"unknown team " + a.Name}
		}
		return s.pick(rt, exclude, sticky)
	case ir.AssignRoute:
		r := s.m.routings[a.Name]
		if r == nil {
			return "", &noOwner{"unknown routing " + a.Name}
		}
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
// on shift, under capacity and not excluded. Ties (best_fit, least_loaded)
// and round_robin go to the first candidate at or after the team's cursor,
// in member order.
func (s *stepper) pick(rt *teamRT, exclude string, sticky bool) (string, error) {
	t := rt.t
	if sticky && s.lead.Owner != "" {
		for i := range t.Members {
			if t.Members[i].Email == s.lead.Owner {
				return s.lead.Owner, nil
			}
		}
	}
	if rt.cal != nil && !rt.cal.InHours(s.now) {
		return "", &noOwner{fmt.Sprintf("team %s is off shift (calendar %s)", t.Name, t.Calendar)}
	}
	var buf [16]int
	cands := buf[:0]
	full, fullAt := 0, 0 // members at capacity, and their capacity if all share one (else -1)
	for i := range t.Members {
		mb := &t.Members[i]
		if mb.Email == exclude {
			continue
		}
		if limit := t.CapacityOf(mb); limit > 0 && s.load(rt, i) >= limit {
			if full == 0 {
				fullAt = limit
			} else if fullAt != limit {
				fullAt = -1
			}
			full++
			continue
		}
		cands = append(cands, i)
	}
	if len(cands) == 0 {
		reason := fmt.Sprintf("team %s has no available member", t.Name)
		switch {
		case full > 0:
			reason = fmt.Sprintf("team %s: every available member is at capacity", t.Name)
			if fullAt > 0 {
				reason += fmt.Sprintf(" (%d open leads)", fullAt)
			}
		case exclude != "":
			reason = fmt.Sprintf("team %s has no member besides %s", t.Name, exclude)
		}
		return "", &noOwner{reason}
	}
	st := s.team(rt)
	n := len(t.Members)
	var tbuf [16]int
	tied := tbuf[:0]
	var chosen int
	switch t.Strategy {
	case ir.Weighted:
		// Smooth weighted round-robin (as in nginx): every candidate gains
		// its weight, the highest (first in member order on a tie) is
		// picked and loses the total.
		cur := make(map[string]int, n)
		for k, v := range st.Current {
			cur[k] = v
		}
		total := 0
		chosen = -1
		for _, i := range cands {
			mb := &t.Members[i]
			cur[mb.Email] += mb.Weight
			total += mb.Weight
			if chosen < 0 || cur[mb.Email] > cur[t.Members[chosen].Email] {
				chosen = i
			}
		}
		cur[t.Members[chosen].Email] -= total
		s.setTeam(rt, TeamState{Next: (chosen + 1) % n, Current: cur})
		return t.Members[chosen].Email, nil
	case ir.LeastLoaded:
		least := 0
		for _, i := range cands {
			l := s.load(rt, i)
			if len(tied) == 0 || l < least {
				least, tied = l, tied[:0]
			}
			if l == least {
				tied = append(tied, i)
			}
		}
		chosen = atCursor(tied, st.Next, n)
	case ir.BestFit:
		best := 0.0
		for _, i := range cands {
			act := s.act()
			act.member = &memberLoad{rt.members[i], int64(s.load(rt, i))}
			v, err := s.m.evalNumber(t.By, act)
			act.member = nil
			if err != nil {
				return "", err
			}
			switch {
			case len(tied) == 0 || v > best:
				best, tied = v, append(tied[:0], i)
			case v == best:
				tied = append(tied, i)
			}
		}
		if t.Min != nil && best < *t.Min {
			return "", &noOwner{fmt.Sprintf("team %s: no member fits: the best score is %s, under the minimum %s",
				t.Name, strconv.FormatFloat(best, 'g', -1, 64), strconv.FormatFloat(*t.Min, 'g', -1, 64))}
		}
		chosen = atCursor(tied, st.Next, n)
	default: // round_robin
		chosen = atCursor(cands, st.Next, n)
	}
	s.setTeam(rt, TeamState{Next: (chosen + 1) % n, Current: st.Current})
	return t.Members[chosen].Email, nil
}

// atCursor returns the first of among at or after the cursor, cyclically
// over n members.
func atCursor(among []int, next, n int) int {
	next = ((next % n) + n) % n
	best, bestDist := among[0], n+1
	for _, i := range among {
		if d := (i - next + n) % n; d < bestDist {
			best, bestDist = i, d
		}
	}
	return best
}
