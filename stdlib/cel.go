package stdlib

import (
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/leadlang/lead/stdlib/calendar"
)

// Resolver finds a workflow's calendar by name (nil if unknown). Programs
// may be evaluated concurrently, so it must be safe for concurrent use.
type Resolver func(name string) *calendar.Calendar

// Library returns the env option adding Lead's functions. The environment
// must declare a variable `now` of type timestamp.
func Library(cals Resolver) cel.EnvOption {
	return cel.Lib(&library{cals: cals})
}

// Names lists the functions Library makes visible to workflow authors, for
// completion and "did you mean" suggestions.
func Names() []string {
	return []string{
		"business_hours_between", "days_since", "domain", "hours_since",
		"in_business_hours", "is_free_email", "region_of",
	}
}

// Hidden functions behind the days_since and hours_since macros.
const (
	daysSinceFn  = "@lead_days_since"
	hoursSinceFn = "@lead_hours_since"
)

type library struct{ cals Resolver }

func (l *library) CompileOptions() []cel.EnvOption {
	str, ts, dur := cel.StringType, cel.TimestampType, cel.DurationType
	return []cel.EnvOption{
		cel.Function("domain",
			cel.Overload("lead_domain_string", []*cel.Type{str}, str,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.String(Domain(string(v.(types.String))))
				}))),
		cel.Function("is_free_email",
			cel.Overload("lead_is_free_email_string", []*cel.Type{str}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.Bool(IsFreeEmail(string(v.(types.String))))
				}))),
		cel.Function("region_of",
			cel.Overload("lead_region_of_string", []*cel.Type{str}, str,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.String(RegionOf(string(v.(types.String))))
				}))),

		cel.Macros(
			cel.GlobalMacro("days_since", 1, sinceMacro(daysSinceFn)),
			cel.GlobalMacro("hours_since", 1, sinceMacro(hoursSinceFn)),
		),
		cel.Function(daysSinceFn,
			cel.Overload("lead_days_since_timestamp_timestamp", []*cel.Type{ts, ts}, cel.IntType,
				cel.BinaryBinding(since(secondsPerDay)))),
		cel.Function(hoursSinceFn,
			cel.Overload("lead_hours_since_timestamp_timestamp", []*cel.Type{ts, ts}, cel.IntType,
				cel.BinaryBinding(since(secondsPerHour)))),
		// Declared so that a call with the wrong number of arguments reads
		// "no matching overload for days_since" rather than "undeclared
		// reference". The macros replace every one-argument call, so these
		// bindings run only in an environment that cleared the macros.
		cel.Function("days_since",
			cel.Overload("lead_days_since_timestamp", []*cel.Type{ts}, cel.IntType,
				cel.UnaryBinding(macroMissing("days_since")))),
		cel.Function("hours_since",
			cel.Overload("lead_hours_since_timestamp", []*cel.Type{ts}, cel.IntType,
				cel.UnaryBinding(macroMissing("hours_since")))),

		cel.Function("business_hours_between",
			cel.Overload("lead_business_hours_between_string_timestamp_timestamp",
				[]*cel.Type{str, ts, ts}, dur,
				cel.FunctionBinding(l.businessHoursBetween))),
		cel.Function("in_business_hours",
			cel.Overload("lead_in_business_hours_string_timestamp",
				[]*cel.Type{str, ts}, cel.BoolType,
				cel.BinaryBinding(l.inBusinessHours))),
	}
}

func (l *library) ProgramOptions() []cel.ProgramOption { return nil }

// sinceMacro expands f(x) to hidden(x, now).
func sinceMacro(hidden string) cel.MacroFactory {
	return func(eh cel.MacroExprFactory, _ ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
		return eh.NewCall(hidden, args[0], eh.NewIdent("now")), nil
	}
}

const (
	secondsPerHour = 60 * 60
	secondsPerDay  = 24 * secondsPerHour
)

// since returns a binding counting whole units of unit seconds from its
// first argument to its second, rounded down.
func since(unit int64) func(ts, now ref.Val) ref.Val {
	return func(ts, now ref.Val) ref.Val {
		return types.Int(floorDiv(elapsedSeconds(ts.(types.Timestamp).Time, now.(types.Timestamp).Time), unit))
	}
}

// elapsedSeconds returns floor((b - a) in seconds) without the overflow of
// time.Duration beyond 292 years (CEL timestamps span years 1 to 9999).
func elapsedSeconds(a, b time.Time) int64 {
	s := b.Unix() - a.Unix()
	if b.Nanosecond() < a.Nanosecond() {
		s--
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func macroMissing(name string) func(ref.Val) ref.Val {
	return func(ref.Val) ref.Val {
		return types.NewErr("%s needs its macro, which reads `now`: keep the Lead library's macros in the environment", name)
	}
}

func (l *library) lookup(fn string, name ref.Val) (*calendar.Calendar, ref.Val) {
	n := string(name.(types.String))
	var c *calendar.Calendar
	if l.cals != nil {
		c = l.cals(n)
	}
	if c == nil {
		return nil, types.NewErr("%s: unknown calendar %q", fn, n)
	}
	return c, nil
}

func (l *library) businessHoursBetween(args ...ref.Val) ref.Val {
	c, err := l.lookup("business_hours_between", args[0])
	if err != nil {
		return err
	}
	a, b := args[1].(types.Timestamp).Time, args[2].(types.Timestamp).Time
	return types.Duration{Duration: c.Between(a, b)}
}

func (l *library) inBusinessHours(name, ts ref.Val) ref.Val {
	c, err := l.lookup("in_business_hours", name)
	if err != nil {
		return err
	}
	return types.Bool(c.InHours(ts.(types.Timestamp).Time))
}
