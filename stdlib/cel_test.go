package stdlib

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/leadlang/lead/stdlib/calendar"
)

var testNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // a Monday, 07:00 in New York

func testResolver(t testing.TB) Resolver {
	var hours [7][]calendar.Interval
	for d := time.Monday; d <= time.Friday; d++ {
		hours[d] = []calendar.Interval{{Start: 9 * 60, End: 17 * 60}}
	}
	us, err := calendar.New("us_business", "America/New_York", hours,
		[]calendar.Date{{Year: 2026, Month: 11, Day: 26}, {Year: 2026, Month: 12, Day: 25}})
	if err != nil {
		t.Fatal(err)
	}
	return func(name string) *calendar.Calendar {
		if name == "us_business" {
			return us
		}
		return nil
	}
}

func testEnv(t testing.TB, r Resolver, opts ...cel.EnvOption) *cel.Env {
	t.Helper()
	opts = append([]cel.EnvOption{
		cel.Variable("now", cel.TimestampType),
		cel.Variable("ts", cel.TimestampType),
		Library(r),
	}, opts...)
	env, err := cel.NewEnv(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestFunctions(t *testing.T) {
	env := testEnv(t, testResolver(t))
	tests := []struct {
		expr string
		want any // Go value of the result
	}{
		{`domain(" Ana@Big.Example ") == "big.example"`, true},
		{`domain(" Ana@Big.Example ")`, "big.example"},
		{`domain("nobody")`, ""},
		{`is_free_email("Someone@GMail.com")`, true},
		{`is_free_email("cio@big.example")`, false},
		{`region_of("de")`, "emea"},
		{`region_of("US")`, "na"},
		{`region_of("zz")`, ""},
		{`region_of("br") == "latam" && region_of("JP") == "apac"`, true},

		{`days_since(now - duration("49h")) == 2`, true},
		{`days_since(now)`, int64(0)},
		{`days_since(now - duration("23h59m59s"))`, int64(0)},
		{`days_since(now - duration("24h"))`, int64(1)},
		{`days_since(now - duration("1ns") - duration("24h"))`, int64(1)},
		{`days_since(now + duration("1ns"))`, int64(-1)},
		{`days_since(now + duration("24h"))`, int64(-1)},
		{`days_since(now + duration("24h1s"))`, int64(-2)},
		{`days_since(timestamp("2026-03-01T12:00:00.5Z"))`, int64(0)},
		{`days_since(timestamp("0001-01-01T00:00:00Z"))`, int64(739676)},
		{`days_since(timestamp("9999-12-31T23:59:59Z"))`, int64(-2912383)},
		{`hours_since(now - duration("90m"))`, int64(1)},
		{`hours_since(now - duration("1ns"))`, int64(0)},
		{`hours_since(now + duration("1ns"))`, int64(-1)},
		{`hours_since(now - duration("72h"))`, int64(72)},
		{`hours_since(ts)`, int64(25)}, // ts is 25.5h before now
		{`[duration("24h"), duration("48h")].map(d, days_since(now - d))`, []int64{1, 2}},

		{`business_hours_between("us_business", timestamp("2026-03-02T14:00:00Z"), timestamp("2026-03-04T22:00:00Z"))`, 24 * time.Hour},
		{`business_hours_between("us_business", now, now + duration("72h"))`, 24 * time.Hour},
		{`business_hours_between("us_business", timestamp("2026-11-25T14:00:00Z"), timestamp("2026-11-28T00:00:00Z"))`, 16 * time.Hour}, // Thanksgiving
		{`business_hours_between("us_business", now + duration("72h"), now)`, time.Duration(0)},
		{`business_hours_between("us_business", now, now + duration("72h")) > duration("23h")`, true},
		{`in_business_hours("us_business", timestamp("2026-03-02T14:00:00Z"))`, true},
		{`in_business_hours("us_business", now)`, false}, // 07:00 in New York
		{`in_business_hours("us_business", timestamp("2026-11-26T15:00:00Z"))`, false},
	}
	vars := map[string]any{"now": testNow, "ts": testNow.Add(-25*time.Hour - 30*time.Minute)}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			ast, iss := env.Compile(tt.expr)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			prg, err := env.Program(ast)
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := prg.Eval(vars)
			if err != nil {
				t.Fatal(err)
			}
			switch want := tt.want.(type) {
			case []int64:
				got, err := out.ConvertToNative(reflect.TypeOf(want))
				if err != nil || !slices.Equal(got.([]int64), want) {
					t.Errorf("= %v; want %v", out, want)
				}
			default:
				if got := out.Value(); got != tt.want {
					t.Errorf("= %v (%T); want %v (%T)", got, got, tt.want, tt.want)
				}
			}
		})
	}
}

func TestResultTypes(t *testing.T) {
	env := testEnv(t, testResolver(t))
	for expr, want := range map[string]*cel.Type{
		`domain("a@b.c")`:        cel.StringType,
		`is_free_email("a@b.c")`: cel.BoolType,
		`region_of("DE")`:        cel.StringType,
		`days_since(now)`:        cel.IntType,
		`hours_since(ts)`:        cel.IntType,
		`business_hours_between("us_business", ts, now)`: cel.DurationType,
		`in_business_hours("x", now)`:                    cel.BoolType,
	} {
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			t.Errorf("%s: %v", expr, iss.Err())
			continue
		}
		if !ast.OutputType().IsExactType(want) {
			t.Errorf("%s: type %v; want %v", expr, ast.OutputType(), want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	env := testEnv(t, testResolver(t))
	for expr, want := range map[string]string{
		`domain(1)`:                                  "no matching overload for 'domain'",
		`domain("a", "b")`:                           "no matching overload for 'domain'",
		`is_free_email(now)`:                         "no matching overload for 'is_free_email'",
		`region_of(true)`:                            "no matching overload for 'region_of'",
		`days_since("2026-01-01")`:                   "no matching overload for '@lead_days_since'",
		`hours_since(1)`:                             "no matching overload for '@lead_hours_since'",
		`days_since(now, now)`:                       "no matching overload for 'days_since'",
		`hours_since()`:                              "no matching overload for 'hours_since'",
		`business_hours_between("us_business", now)`: "no matching overload for 'business_hours_between'",
		`business_hours_between(1, now, now)`:        "no matching overload for 'business_hours_between'",
		`business_hours_between("x", now, "2026")`:   "no matching overload for 'business_hours_between'",
		`in_business_hours("us_business", "monday")`: "no matching overload for 'in_business_hours'",
		`in_business_hours(now)`:                     "no matching overload for 'in_business_hours'",
		`days_since(now) == "2"`:                     "no matching overload for '_==_'",
		`business_hours_between("x", ts, now) > 5`:   "no matching overload for '_>_'",
		`@lead_days_since(now, now)`:                 "Syntax error",
		`domian("a@b.c")`:                            "undeclared reference to 'domian'",
	} {
		_, iss := env.Compile(expr)
		if iss.Err() == nil {
			t.Errorf("%s compiled", expr)
			continue
		}
		if !strings.Contains(iss.Err().Error(), want) {
			t.Errorf("%s: error %q does not contain %q", expr, iss.Err(), want)
		}
	}
}

func TestNowMustBeDeclared(t *testing.T) {
	env, err := cel.NewEnv(cel.Variable("ts", cel.TimestampType), Library(nil))
	if err != nil {
		t.Fatal(err)
	}
	_, iss := env.Compile(`days_since(ts)`)
	if iss.Err() == nil || !strings.Contains(iss.Err().Error(), "undeclared reference to 'now'") {
		t.Errorf("compile error %v; want undeclared now", iss.Err())
	}
}

func TestRunTimeErrors(t *testing.T) {
	for name, r := range map[string]Resolver{"resolver": testResolver(t), "nil resolver": nil} {
		env := testEnv(t, r)
		for expr, want := range map[string]string{
			`business_hours_between("mars", now, now)`: `business_hours_between: unknown calendar "mars"`,
			`in_business_hours("std.mars", now)`:       `in_business_hours: unknown calendar "std.mars"`,
		} {
			ast, iss := env.Compile(expr)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			prg, err := env.Program(ast)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = prg.Eval(map[string]any{"now": testNow, "ts": testNow})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %s: error %v; want %q", name, expr, err, want)
			}
		}
	}
}

// Without the macros (an environment that clears them), days_since still
// type-checks but reports, rather than guesses, that it cannot read now.
func TestWithoutMacros(t *testing.T) {
	env := testEnv(t, nil, cel.ClearMacros())
	ast, iss := env.Compile(`days_since(now)`)
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = prg.Eval(map[string]any{"now": testNow})
	if err == nil || !strings.Contains(err.Error(), "days_since needs its macro") {
		t.Errorf("error %v", err)
	}
}

func TestNames(t *testing.T) {
	env := testEnv(t, nil)
	fns := env.Functions()
	for _, n := range Names() {
		if _, ok := fns[n]; !ok {
			t.Errorf("%s is not declared", n)
		}
	}
	for n := range fns {
		if strings.HasPrefix(n, "@lead") && slices.Contains(Names(), n) {
			t.Errorf("hidden %s is listed", n)
		}
	}
	if !slices.IsSorted(Names()) || len(Names()) != 7 {
		t.Errorf("Names() = %v", Names())
	}
}
