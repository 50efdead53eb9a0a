package lang

import (
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The AST doubles as the grammar, the only one (docs/language/grammar.md):
//
//   - each struct's participle tags say how it is parsed;
//   - the marker methods at the end of this file register each statement
//     in its union (`func (*Qualify) stageStmt() {}`), in the order the
//     union tries them and messages and completion list their keywords;
//   - directives in a struct's doc comment: //lead:usage `SYNTAX`, the
//     syntax help shows for the keyword SYNTAX starts with (one line a
//     keyword); //lead:block KIND DESCRIPTION, for a node whose braces hold
//     statements or items (messages name the block by DESCRIPTION, and
//     statements' keywords name their KIND); //lead:in KIND..., for a
//     statement listed only in those kinds of its union's blocks.
//
// go generate ./lang writes the parser that runs and the keyword tables
// from them (grammar_gen.go); TestGeneratedGrammar checks that it is
// current. Every node embeds Node, whose Pos and EndPos the parser fills
// with the byte offsets of its first token and of the end of its last
// token. Line and column are not stored; File converts offsets at the
// edges.
//
// Keywords are contextual (the language reference §1): they are Ident tokens matched by
// value, so any identifier can still name a field, event, stage or role.

// Node is embedded in every AST node.
type Node struct {
	Pos    lexer.Position
	EndPos lexer.Position
}

// Span returns the node's byte range in its file.
func (n *Node) Span() Span { return Span{Start: n.Pos.Offset, End: n.EndPos.Offset} }

// Ident is a name with its position.
type Ident struct {
	Node
	Name string `parser:"@Ident"`
}

// Ref is a name that may be qualified once: `marketing.develop`,
// `std.waterfall`, `lead.fit`.
type Ref struct {
	Node
	Name   string `parser:"@Ident"`
	Member string `parser:"( \".\" @Ident )?"`
}

// String returns the reference as written, e.g. "marketing.develop".
func (r *Ref) String() string {
	if r.Member == "" {
		return r.Name
	}
	return r.Name + "." + r.Member
}

// StringLit is a double-quoted string literal; Raw keeps the quotes.
type StringLit struct {
	Node
	Raw string `parser:"@String"`
}

// Value is the literal's decoded value (Go escapes). Invalid escapes are
// reported by the parser; Value then returns the raw text without quotes.
func (s *StringLit) Value() string {
	v, err := strconv.Unquote(s.Raw)
	if err != nil {
		return strings.Trim(s.Raw, `"`)
	}
	return v
}

// Duration is a duration literal such as `1h30m`.
type Duration struct {
	Node
	Text string `parser:"@Duration"`
}

// Percent is a percentage literal such as `75%`.
type Percent struct {
	Node
	Text string `parser:"@Percent"`
}

// Number is an int or float literal with an optional minus sign.
type Number struct {
	Node
	Neg  bool   `parser:"(   @\"-\""`
	Text string `parser:"    @(Float | Int) | @(Float | Int) )"`
}

// String returns the number as written, sign included.
func (n *Number) String() string {
	if n.Neg {
		return "-" + n.Text
	}
	return n.Text
}

// Literal is a constant value: a default, a member attribute, or a field
// value in a test. A bare name is an enum value (`segment ... = smb`).
type Literal struct {
	Node
	Number   *Number    `parser:"(   @@"`
	String   *StringLit `parser:"  | @@"`
	Bool     string     `parser:"  | @(\"true\" | \"false\")"`
	Duration *Duration  `parser:"  | @@"`
	Name     *Ident     `parser:"  | @@"`
	IsList   bool       `parser:"  | @\"[\""`
	List     []*Literal `parser:"    ( @@ ( \",\" @@ )* \",\"? )? \"]\" )"`
}

// ---------------------------------------------------------------------------
// Files and declarations

// File is a parsed .lead source.
type File struct {
	Name     string
	Src      string
	Decls    []Decl
	Comments []Comment
	lines    []int // byte offset of the start of each line, built lazily
}

// Comment is a `//` or `/* */` comment with its range.
type Comment struct {
	Span Span
	Text string
}

// Decl is a top-level declaration.
type Decl interface {
	Span() Span
	decl()
}

// Workflow is `workflow NAME ["Title"]`.
//
//lead:usage `workflow NAME ["Title"]`
type Workflow struct {
	Node
	Name  *Ident     `parser:"\"workflow\" @@"`
	Title *StringLit `parser:"@@?"`
}

// Start is `start STAGE_OR_CELL`.
//
//lead:usage `start STAGE_OR_CELL`
type Start struct {
	Node
	Target *Ref `parser:"\"start\" @@"`
}

// Conforms is `conforms STANDARD`.
//
//lead:usage `conforms STANDARD`
type Conforms struct {
	Node
	Standard *Ref `parser:"\"conforms\" @@"`
}

// Use is `use std.MODULE`.
//
//lead:usage `use std.MODULE`
type Use struct {
	Node
	Module *Ref `parser:"\"use\" @@"`
}

// Waive is `waive "REQUIREMENT" "REASON" [on STAGE] [until "YYYY-MM-DD"]`.
//
//lead:usage `waive "REQUIREMENT" "REASON" [on STAGE] [until "YYYY-MM-DD"]`
type Waive struct {
	Node
	Requirement *StringLit `parser:"\"waive\" @@"`
	Reason      *StringLit `parser:"@@"`
	Stage       *Ref       `parser:"( \"on\" @@ )?"`
	Until       *StringLit `parser:"( \"until\" @@ )?"`
}

// LeadSchema is the `lead { ... }` block.
//
//lead:block lead the lead schema
//lead:usage `lead { NAME TYPE [= DEFAULT] ... }`
type LeadSchema struct {
	Node
	Fields []*Field `parser:"\"lead\" \"{\" EOL* ( @@ (?= EOL | \",\" | \"}\" ) ( \",\" EOL* | EOL+ )? )* \"}\""`
}

// Field is `NAME TYPE[?] [= LITERAL]`, in the lead schema and in events.
type Field struct {
	Node
	Name     *Ident    `parser:"@@"`
	Type     *TypeExpr `parser:"@@"`
	Optional bool      `parser:"@\"?\"?"`
	Default  *Literal  `parser:"( \"=\" @@ )?"`
}

// TypeExpr is a field type.
type TypeExpr struct {
	Node
	Enum   []*Ident  `parser:"(   \"enum\" \"(\" @@ ( \",\" @@ )* \",\"? \")\""`
	List   *TypeExpr `parser:"  | \"list\" \"<\" @@ \">\""`
	MapKey *TypeExpr `parser:"  | \"map\" \"<\" @@ \",\""`
	MapVal *TypeExpr `parser:"    @@ \">\""`
	Name   *Ident    `parser:"  | @@ )"`
}

// Event is `event NAME [{ FIELDS }]`.
//
//lead:block event an event
//lead:usage `event NAME [{ NAME TYPE, ... }]`
type Event struct {
	Node
	Name   *Ident   `parser:"\"event\" @@"`
	Braces bool     `parser:"( @\"{\" EOL*"`
	Fields []*Field `parser:"  ( @@ (?= EOL | \",\" | \"}\" ) ( \",\" EOL* | EOL+ )? )* \"}\" )?"`
}

// Role is `role NAME ["Description"]`.
//
//lead:usage `role NAME ["Description"]`
type Role struct {
	Node
	Name  *Ident     `parser:"\"role\" @@"`
	Title *StringLit `parser:"@@?"`
}

// Team is `team NAME { ... }`.
//
//lead:block team a team
//lead:usage `team NAME { strategy KIND ... member "EMAIL" ... }`
type Team struct {
	Node
	Name  *Ident     `parser:"\"team\" @@ \"{\" EOL*"`
	Stmts []TeamStmt `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// TeamStmt is a statement inside a team.
type TeamStmt interface {
	Span() Span
	teamStmt()
}

// Strategy is `strategy KIND [by EXPR [min N]]`.
//
//lead:usage `strategy round_robin | weighted | least_loaded | best_fit by EXPRESSION [min SCORE]`
type Strategy struct {
	Node
	Kind *Ident  `parser:"\"strategy\" @@"`
	By   *Expr   `parser:"( \"by\" @@"`
	Min  *Number `parser:"  ( \"min\" @@ )? )?"`
}

// Capacity is `capacity N`.
//
//lead:usage `capacity N`
type Capacity struct {
	Node
	Max *Number `parser:"\"capacity\" @@"`
}

// TeamCalendar is `calendar NAME` inside a team.
//
//lead:usage `calendar CALENDAR`
type TeamCalendar struct {
	Node
	Calendar *Ref `parser:"\"calendar\" @@"`
}

// TeamManager is `manager ROLE` or `manager "PERSON"` inside a team: who
// its members' escalations reach (manager_of).
//
//lead:usage `manager ROLE | "PERSON"`
type TeamManager struct {
	Node
	Role   *Ident     `parser:"\"manager\" (   @@"`
	Person *StringLit `parser:"             | @@ )"`
}

// Member is `member "email" [{ ATTRS }]`.
//
//lead:block member a member
//lead:usage `member "EMAIL" [{ NAME VALUE, ... }]`
type Member struct {
	Node
	Email  *StringLit    `parser:"\"member\" @@"`
	Braces bool          `parser:"( @\"{\" EOL*"`
	Attrs  []*MemberAttr `parser:"  ( @@ (?= EOL | \",\" | \"}\" ) ( \",\" EOL* | EOL+ )? )* \"}\" )?"`
}

// MemberAttr is `NAME LITERAL` inside a member's braces.
type MemberAttr struct {
	Node
	Name  *Ident   `parser:"@@"`
	Value *Literal `parser:"@@"`
}

// Calendar is `calendar NAME { ... }`.
//
//lead:block calendar a calendar
//lead:usage `calendar NAME { timezone "AREA/CITY" ... hours DAYS HH:MM-HH:MM ... holiday "YYYY-MM-DD" ... workday "YYYY-MM-DD" HH:MM-HH:MM ... }`
type Calendar struct {
	Node
	Name  *Ident    `parser:"\"calendar\" @@ \"{\" EOL*"`
	Stmts []CalStmt `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// CalStmt is a statement inside a calendar.
type CalStmt interface {
	Span() Span
	calStmt()
}

// Timezone is `timezone "Area/City"`.
//
//lead:usage `timezone "AREA/CITY"`
type Timezone struct {
	Node
	Zone *StringLit `parser:"\"timezone\" @@"`
}

// Hours is `hours DAYS HH:MM-HH:MM`.
//
//lead:usage `hours DAYS HH:MM-HH:MM`, e.g. `hours mon-fri 09:00-17:00`
type Hours struct {
	Node
	Days  []*DayRange `parser:"\"hours\" @@ ( \",\" @@ )*"`
	Start *Clock      `parser:"@@ \"-\""`
	End   *Clock      `parser:"@@"`
}

// DayRange is `mon` or `mon-fri`.
type DayRange struct {
	Node
	From *Ident `parser:"@@"`
	To   *Ident `parser:"( \"-\" @@ )?"`
}

// Clock is a time of day `HH:MM`.
type Clock struct {
	Node
	Text string `parser:"@Clock"`
}

// Holiday is `holiday "YYYY-MM-DD"`.
//
//lead:usage `holiday "YYYY-MM-DD"`
type Holiday struct {
	Node
	Date *StringLit `parser:"\"holiday\" @@"`
}

// Workday is `workday "YYYY-MM-DD" HH:MM-HH:MM[, HH:MM-HH:MM...]`: a date
// that works these hours instead of its weekday's (a make-up Saturday).
//
//lead:usage `workday "YYYY-MM-DD" HH:MM-HH:MM[, HH:MM-HH:MM]`, e.g. `workday "2027-01-09" 09:00-17:00`
type Workday struct {
	Node
	Date  *StringLit   `parser:"\"workday\" @@"`
	Hours []*TimeRange `parser:"@@ ( \",\" @@ )*"`
}

// TimeRange is `HH:MM-HH:MM`.
type TimeRange struct {
	Node
	Start *Clock `parser:"@@ \"-\""`
	End   *Clock `parser:"@@"`
}

// Routing is `routing NAME { RULES }`.
//
//lead:block routing a routing
//lead:usage `routing NAME { when CONDITION -> OWNER ... else -> OWNER }`
type Routing struct {
	Node
	Name  *Ident       `parser:"\"routing\" @@ \"{\" EOL*"`
	Rules []*RouteRule `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// RouteRule is `when EXPR -> TARGET` or `else -> TARGET`.
//
//lead:usage `when CONDITION -> route R | team T | role R | user EXPRESSION`
//lead:usage `else -> route R | team T | role R | user EXPRESSION`
type RouteRule struct {
	Node
	When   *Expr     `parser:"(   \"when\" @@"`
	Else   bool      `parser:"  | @\"else\" ) \"->\""`
	Target *Assignee `parser:"@@"`
}

// Assignee names who becomes responsible: `route R`, `team T`, `role R` or
// `user EXPR`.
type Assignee struct {
	Node
	User *Expr  `parser:"(   \"user\" @@"`
	Kind string `parser:"  | @( \"route\" | \"team\" | \"role\" )"`
	Name *Ident `parser:"    @@ )"`
}

// OwnerBlock is `owner { ENTRIES }` at workflow, cell or stage level.
//
//lead:block owner an owner block
//lead:usage `owner { accountable ROLE  responsible OWNER  consulted ROLE  informed ROLE }`
type OwnerBlock struct {
	Node
	Entries []*OwnerEntry `parser:"\"owner\" \"{\" EOL* ( @@ ( EOL | \",\" )* )* \"}\""`
}

// OwnerEntry is one RACI line such as `responsible route tele_routing`.
//
//lead:usage `responsible route R | team T | role R | user EXPRESSION`
//lead:usage `accountable ROLE`
//lead:usage `consulted ROLE`
//lead:usage `informed ROLE`
type OwnerEntry struct {
	Node
	Kind     string    `parser:"@( \"responsible\" | \"accountable\" | \"consulted\" | \"informed\" )"`
	Assignee *Assignee `parser:"(   @@"`
	Role     *Ident    `parser:"  | @@ )"`
}

// Score is `score FIELD { ... }`.
//
//lead:block score a score
//lead:usage `score FIELD { on EVENT add N ... decay P% every DURATION ... limit MIN..MAX }`
type Score struct {
	Node
	Field *Ident      `parser:"\"score\" @@ \"{\" EOL*"`
	Stmts []ScoreStmt `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// ScoreStmt is a statement inside a score block.
type ScoreStmt interface {
	Span() Span
	scoreStmt()
}

// ScoreRule is `on EVENT[, ...] [when EXPR] add N`.
//
//lead:usage `on EVENT[, EVENT...] [when CONDITION] add N`
type ScoreRule struct {
	Node
	Events []*Ident `parser:"\"on\" @@ ( \",\" @@ )*"`
	When   *Expr    `parser:"( \"when\" @@ )?"`
	Add    *Number  `parser:"\"add\" @@"`
}

// Decay is `decay P every D [on CAL]`.
//
//lead:usage `decay PERCENT every DURATION [on CALENDAR]`, e.g. `decay 10% every 30d`
type Decay struct {
	Node
	Percent  *Percent  `parser:"\"decay\" @@"`
	Every    *Duration `parser:"\"every\" @@"`
	Calendar *Ref      `parser:"( \"on\" @@ )?"`
}

// Limit is `limit MIN..MAX`.
//
//lead:usage `limit MIN..MAX`, e.g. `limit 0..100`
type Limit struct {
	Node
	Min *Number `parser:"\"limit\" @@ DotDot"`
	Max *Number `parser:"@@"`
}

// Stage is `stage NAME [terminal] [{ STATEMENTS }]`.
//
//lead:block stage a stage
//lead:usage `stage NAME [terminal] [{ STATEMENTS }]`
type Stage struct {
	Node
	Name     *Ident      `parser:"\"stage\" @@"`
	Terminal bool        `parser:"@\"terminal\"?"`
	Braces   bool        `parser:"( @\"{\" EOL*"`
	Stmts    []StageStmt `parser:"  ( @@ (?= EOL | \"}\" ) EOL* )* \"}\" )?"`
}

// Cell is `cell NAME { owner assess advance develop }`.
//
//lead:block cell a cell
//lead:usage `cell NAME { owner { ... } assess { ... } advance -> TARGET [{ ... }] develop { ... } }`
type Cell struct {
	Node
	Name  *Ident     `parser:"\"cell\" @@ \"{\" EOL*"`
	Parts []CellPart `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// CellPart is an owner block or one of a cell's three parts.
type CellPart interface {
	Span() Span
	cellPart()
}

// Assess is a cell's `assess { ... }`.
//
//lead:block assess a cell's assess
//lead:usage `assess { STATEMENTS }`
type Assess struct {
	Node
	Stmts []StageStmt `parser:"\"assess\" \"{\" EOL* ( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// Advance is a cell's `advance -> TARGET [{ ... }]`.
//
//lead:block advance a cell's advance
//lead:usage `advance -> TARGET [{ STATEMENTS }]`
type Advance struct {
	Node
	Target *Ref        `parser:"\"advance\" \"->\" @@"`
	Braces bool        `parser:"( @\"{\" EOL*"`
	Stmts  []StageStmt `parser:"  ( @@ (?= EOL | \"}\" ) EOL* )* \"}\" )?"`
}

// Develop is a cell's `develop { ... }`.
//
//lead:block develop a cell's develop
//lead:usage `develop { STATEMENTS }`
type Develop struct {
	Node
	Stmts []StageStmt `parser:"\"develop\" \"{\" EOL* ( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// CellStage returns which of a cell's three stages p is ("assess", "advance"
// or "develop") and its statements; ok is false for the owner block.
func CellStage(p CellPart) (part string, stmts []StageStmt, ok bool) {
	switch p := p.(type) {
	case *Assess:
		return "assess", p.Stmts, true
	case *Advance:
		return "advance", p.Stmts, true
	case *Develop:
		return "develop", p.Stmts, true
	}
	return "", nil, false
}

// Standard is `standard NAME { ... }` (the language reference §13).
//
//lead:block standard a standard
//lead:usage `standard NAME { stages NAME, ... terminal NAME, ... require ... lead { ... } event ... rule NAME = EXPRESSION }`
type Standard struct {
	Node
	Name  *Ident         `parser:"\"standard\" @@ \"{\" EOL*"`
	Stmts []StandardStmt `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// StandardStmt is a statement inside a standard.
type StandardStmt interface {
	Span() Span
	standardStmt()
}

// StandardStages is `stages A, B, ...` or `terminal A, B, ...`.
//
//lead:usage `stages NAME, ...`
//lead:usage `terminal NAME, ...`
type StandardStages struct {
	Node
	Terminal bool     `parser:"( \"stages\" | @\"terminal\" )"`
	Names    []*Ident `parser:"@@ ( \",\" @@ )*"`
}

// Require is `require sla on LIFECYCLE within D` or
// `require accountable on every stage`.
//
//lead:usage `require sla on LIFECYCLE within DURATION` or `require accountable on every stage`
type Require struct {
	Node
	SLA         bool      `parser:"\"require\" (   @\"sla\""`
	Lifecycle   *Ident    `parser:"              \"on\" @@"`
	Within      *Duration `parser:"              \"within\" @@"`
	Accountable bool      `parser:"            | @\"accountable\" \"on\" \"every\" \"stage\" )"`
}

// StandardRule is `rule NAME = EXPR` in a standard: a named expression
// over the lead (a qualification criterion, a hand-off threshold) that
// conforming workflows use as NAME().
//
//lead:usage `rule NAME = EXPRESSION`
type StandardRule struct {
	Node
	Name *Ident `parser:"\"rule\" @@ \"=\""`
	Expr *Expr  `parser:"@@"`
}

// Test is `test "name" { ... }` (the language reference §15).
//
//lead:block test a test
//lead:usage `test "NAME" { STEPS }`
type Test struct {
	Node
	Name  *StringLit `parser:"\"test\" @@ \"{\" EOL*"`
	Stmts []TestStmt `parser:"( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// TestStmt is a statement inside a test.
type TestStmt interface {
	Span() Span
	testStmt()
}

// At is `at "RFC 3339 time"`.
//
//lead:usage `at "2026-03-02T09:00:00Z"`
type At struct {
	Node
	Time *StringLit `parser:"\"at\" @@"`
}

// Capture is `capture { FIELD = VALUE, ... }`.
//
//lead:usage `capture { FIELD = VALUE, ... }`
type Capture struct {
	Node
	Fields *ObjectLit `parser:"\"capture\" @@"`
}

// Send is `send EVENT [{ FIELD = VALUE, ... }]`.
//
//lead:usage `send EVENT [{ FIELD = VALUE, ... }]`
type Send struct {
	Node
	Event *Ident     `parser:"\"send\" @@"`
	Data  *ObjectLit `parser:"@@?"`
}

// Override is `override STAGE ["REASON"]`: an operator moves the current
// lead, as `lead override` and POST /v1/leads/{id}/override do.
//
//lead:usage `override STAGE ["REASON"]`
type Override struct {
	Node
	Stage  *Ref       `parser:"\"override\" @@"`
	Reason *StringLit `parser:"@@?"`
}

// ObjectLit is `{ NAME = LITERAL, ... }`.
//
//lead:block values a list of field values
type ObjectLit struct {
	Node
	Fields []*FieldValue `parser:"\"{\" EOL* ( @@ (?= EOL | \",\" | \"}\" ) ( \",\" EOL* | EOL+ )? )* \"}\""`
}

// FieldValue is `NAME = LITERAL`.
type FieldValue struct {
	Node
	Name  *Ident   `parser:"@@ \"=\""`
	Value *Literal `parser:"@@"`
}

// Wait is `wait DURATION`.
//
//lead:usage `wait DURATION`
type Wait struct {
	Node
	For *Duration `parser:"\"wait\" @@"`
}

// Expect is `expect EXPR`.
//
//lead:usage `expect CONDITION`
type Expect struct {
	Node
	Cond *Expr `parser:"\"expect\" @@"`
}

// ---------------------------------------------------------------------------
// Stage statements. One union serves stages and the three parts of a cell;
// the compiler rejects statements used where they do not belong (`qualify`
// outside assess), which gives a clearer message than a syntax error.
// //lead:in lists such a statement only in its part's block, in messages
// and completion.

// StageStmt is a statement inside a stage or a cell part.
type StageStmt interface {
	Span() Span
	stageStmt()
}

// Lifecycle is `lifecycle NAME`.
//
//lead:usage `lifecycle NAME`
type Lifecycle struct {
	Node
	Name *Ident `parser:"\"lifecycle\" @@"`
}

// EnterExit is `enter { ... }` or `exit { ... }`.
//
//lead:usage `enter { ACTIONS }`
//lead:usage `exit { ACTIONS }`
type EnterExit struct {
	Node
	Kind    string       `parser:"@( \"enter\" | \"exit\" )"`
	Actions *ActionBlock `parser:"@@"`
}

// On is an event transition, an in-stage or workflow-level handler, or an
// exception handler:
//
//	on EVENT[, EVENT...] [when EXPR] -> TARGET [{ ACTIONS }]
//	on EVENT[, EVENT...] [when EXPR] { ACTIONS }
//	on exception KIND -> TARGET
//	on exception KIND { ACTIONS }
//
//lead:usage `on EVENT[, EVENT...] [when CONDITION] -> TARGET [{ ACTIONS }]`, `on EVENT [when CONDITION] { ACTIONS }` or `on exception KIND -> TARGET`
type On struct {
	Node
	Exception *Ident       `parser:"\"on\" (   \"exception\" @@"`
	Events    []*Ident     `parser:"      | @@ ( \",\" @@ )*"`
	When      *Expr        `parser:"        ( \"when\" @@ )? )"`
	Target    *Ref         `parser:"( \"->\" @@ )?"`
	Actions   *ActionBlock `parser:"@@?"`
}

// When is an automatic transition `when EXPR -> TARGET [{ ACTIONS }]`.
//
//lead:usage `when CONDITION -> TARGET [{ ACTIONS }]`
type When struct {
	Node
	Cond    *Expr        `parser:"\"when\" @@"`
	Target  *Ref         `parser:"\"->\" @@"`
	Actions *ActionBlock `parser:"@@?"`
}

// After is a timeout `after D [on CAL] -> TARGET [{ ACTIONS }]`; a choice
// (`after (when C -> D, else -> D) -> TARGET`) in place of D lets the lead
// choose it.
//
//lead:usage `after DURATION [on CALENDAR] -> TARGET [{ ACTIONS }]`; the lead may choose the DURATION: `(when CONDITION -> 1d, else -> 5d)`
type After struct {
	Node
	Choice   *Choice      `parser:"\"after\" (   @@"`
	Duration *Duration    `parser:"          | @@ )"`
	Calendar *Ref         `parser:"( \"on\" @@ )?"`
	Target   *Ref         `parser:"\"->\" @@"`
	Actions  *ActionBlock `parser:"@@?"`
}

// SLA is `sla NAME within D [on CAL] [from entry|assignment] [until EVENT,
// ...] [{ warn/breach }]`. Clock is "" (the default), "entry" or
// "assignment".
//
//lead:block sla an SLA
//lead:usage `sla NAME within DURATION [on CALENDAR] [from entry | assignment] [until EVENT, ...] [{ warn at P { ... } breach { ... } }]`; the lead may choose the DURATION: `(when CONDITION -> 15m, else -> 4h)`
type SLA struct {
	Node
	Name     *Ident      `parser:"\"sla\" @@"`
	Choice   *Choice     `parser:"\"within\" (   @@"`
	Within   *Duration   `parser:"           | @@ )"`
	Calendar *Ref        `parser:"( \"on\" @@ )?"`
	Clock    string      `parser:"( \"from\" @( \"entry\" | \"assignment\" ) )?"`
	Until    []*Ident    `parser:"( \"until\" @@ ( \",\" @@ )* )?"`
	Braces   bool        `parser:"( @\"{\" EOL*"`
	Clauses  []SLAClause `parser:"  ( @@ (?= EOL | \"}\" ) EOL* )* \"}\" )?"`
}

// Choice is a length chosen by the lead, in place of the duration of
// `within` and `after`: `( when CONDITION -> DURATION [on CALENDAR], ...,
// else -> DURATION [on CALENDAR] )`. The first rule whose condition holds
// gives the length and, if it names one, the calendar.
type Choice struct {
	Node
	Rules []*ChoiceRule `parser:"\"(\" @@ ( \",\" @@ )* \",\"? \")\""`
}

// ChoiceRule is `when CONDITION -> DURATION [on CALENDAR]` or `else ->
// DURATION [on CALENDAR]`.
type ChoiceRule struct {
	Node
	When     *Expr     `parser:"(   \"when\" @@"`
	Else     bool      `parser:"  | @\"else\" ) \"->\""`
	Duration *Duration `parser:"@@"`
	Calendar *Ref      `parser:"( \"on\" @@ )?"`
}

// SLAClause is a `warn at` or `breach` clause of an SLA.
type SLAClause interface {
	Span() Span
	slaClause()
}

// Warn is `warn at P|D { ACTIONS }`.
//
//lead:usage `warn at PERCENT | DURATION { ACTIONS }`, e.g. `warn at 50% { notify responsible }`
type Warn struct {
	Node
	Percent  *Percent     `parser:"\"warn\" \"at\" (   @@"`
	Duration *Duration    `parser:"             | @@ )"`
	Actions  *ActionBlock `parser:"@@"`
}

// Breach is `breach { ACTIONS }`.
//
//lead:usage `breach { ACTIONS }`
type Breach struct {
	Node
	Actions *ActionBlock `parser:"\"breach\" @@"`
}

// Disqualify is a cell assess rule `disqualify when EXPR -> TARGET`.
//
//lead:in assess
//lead:usage `disqualify when CONDITION -> TARGET`
type Disqualify struct {
	Node
	Cond   *Expr `parser:"\"disqualify\" \"when\" @@"`
	Target *Ref  `parser:"\"->\" @@"`
}

// Qualify is a cell assess rule `qualify when EXPR`.
//
//lead:in assess
//lead:usage `qualify when CONDITION`
type Qualify struct {
	Node
	Cond *Expr `parser:"\"qualify\" \"when\" @@"`
}

// Undecided is `undecided after D [on CAL] [-> TARGET]` in a cell's assess.
//
//lead:in assess
//lead:usage `undecided after DURATION [on CALENDAR] [-> TARGET]`
type Undecided struct {
	Node
	After    *Duration `parser:"\"undecided\" \"after\" @@"`
	Calendar *Ref      `parser:"( \"on\" @@ )?"`
	Target   *Ref      `parser:"( \"->\" @@ )?"`
}

// Route is `route ROUTING` in a cell's advance.
//
//lead:in advance
//lead:usage `route ROUTING`
type Route struct {
	Node
	Routing *Ident `parser:"\"route\" @@"`
}

// Accept is `accept on EVENT, ...` in a cell's advance.
//
//lead:in advance
//lead:usage `accept on EVENT, ...`
type Accept struct {
	Node
	Events []*Ident `parser:"\"accept\" \"on\" @@ ( \",\" @@ )*"`
}

// Reject is `reject on EVENT, ... [-> TARGET]` in a cell's advance.
//
//lead:in advance
//lead:usage `reject on EVENT, ... [-> TARGET]`
type Reject struct {
	Node
	Events []*Ident `parser:"\"reject\" \"on\" @@ ( \",\" @@ )*"`
	Target *Ref     `parser:"( \"->\" @@ )?"`
}

// Nurture is `nurture every D [on CAL] [EXPR]` in a cell's develop.
//
//lead:in develop
//lead:usage `nurture every DURATION [on CALENDAR] [MESSAGE]`
type Nurture struct {
	Node
	Every    *Duration `parser:"\"nurture\" \"every\" @@"`
	Calendar *Ref      `parser:"( \"on\" @@ )?"`
	Message  *Expr     `parser:"@@?"`
}

// Reassess is `reassess on EVENT, ...` in a cell's develop.
//
//lead:in develop
//lead:usage `reassess on EVENT, ...`
type Reassess struct {
	Node
	Events []*Ident `parser:"\"reassess\" \"on\" @@ ( \",\" @@ )*"`
}

// Recycle is `recycle after D [on CAL] -> TARGET` in a cell's develop.
//
//lead:in develop
//lead:usage `recycle after DURATION [on CALENDAR] -> TARGET`
type Recycle struct {
	Node
	After    *Duration `parser:"\"recycle\" \"after\" @@"`
	Calendar *Ref      `parser:"( \"on\" @@ )?"`
	Target   *Ref      `parser:"\"->\" @@"`
}

// ---------------------------------------------------------------------------
// Actions (the language reference §8)

// ActionBlock is `{ ACTION; ... }`.
//
//lead:block actions an action block
type ActionBlock struct {
	Node
	Actions []Action `parser:"\"{\" EOL* ( @@ (?= EOL | \"}\" ) EOL* )* \"}\""`
}

// Action is one action of an action block.
type Action interface {
	Span() Span
	action()
}

// Set is `set lead.FIELD = EXPR`.
//
//lead:usage `set lead.FIELD = EXPRESSION`
type Set struct {
	Node
	Field *Ref  `parser:"\"set\" @@ \"=\""`
	Value *Expr `parser:"@@"`
}

// Assign is `assign route R | team T | role R | user EXPR`.
//
//lead:usage `assign route R | team T | role R | user EXPRESSION`
type Assign struct {
	Node
	To *Assignee `parser:"\"assign\" @@"`
}

// Reassign is `reassign`.
//
//lead:usage `reassign`
type Reassign struct {
	Node
	Keyword bool `parser:"@\"reassign\""`
}

// Notify is `notify TARGET [EXPR]`.
//
//lead:usage `notify ROLE | responsible | accountable | consulted | informed [MESSAGE]`
type Notify struct {
	Node
	Target  *Ident `parser:"\"notify\" @@"`
	Message *Expr  `parser:"@@?"`
}

// Escalate is `escalate ROLE [EXPR]` or `escalate (EXPR) [EXPR]`: to a
// role, or to the role or person an expression names.
//
//lead:usage `escalate ROLE [MESSAGE]` or `escalate (TARGET) [MESSAGE]`, e.g. `escalate (manager_of(lead.owner))`
type Escalate struct {
	Node
	Role    *Ident `parser:"\"escalate\" (   @@"`
	To      *Expr  `parser:"              | \"(\" @@ \")\" )"`
	Message *Expr  `parser:"@@?"`
}

// Move is `-> TARGET`.
//
//lead:usage `-> TARGET`
type Move struct {
	Node
	Target *Ref `parser:"\"->\" @@"`
}

// BadStmt is a statement that did not parse, in a declaration that has
// errors (the diagnostics say what is wrong). It exists only in the AST
// of such declarations, so that the rest of them can still be used by an
// editor; the grammar never produces it.
type BadStmt struct {
	Node
}

func (*BadStmt) teamStmt()     {}
func (*BadStmt) calStmt()      {}
func (*BadStmt) scoreStmt()    {}
func (*BadStmt) cellPart()     {}
func (*BadStmt) standardStmt() {}
func (*BadStmt) testStmt()     {}
func (*BadStmt) stageStmt()    {}
func (*BadStmt) slaClause()    {}
func (*BadStmt) action()       {}

// The unions' members, in order: participle tries them in this order, and
// messages and completion list their keywords in it. Adding a statement
// adds its line here.

func (*Workflow) decl()   {}
func (*Start) decl()      {}
func (*Conforms) decl()   {}
func (*Use) decl()        {}
func (*Waive) decl()      {}
func (*LeadSchema) decl() {}
func (*Event) decl()      {}
func (*Role) decl()       {}
func (*Team) decl()       {}
func (*Calendar) decl()   {}
func (*Routing) decl()    {}
func (*Score) decl()      {}
func (*OwnerBlock) decl() {}
func (*On) decl()         {}
func (*Stage) decl()      {}
func (*Cell) decl()       {}
func (*Standard) decl()   {}
func (*Test) decl()       {}

func (*Strategy) teamStmt()     {}
func (*Capacity) teamStmt()     {}
func (*TeamCalendar) teamStmt() {}
func (*TeamManager) teamStmt()  {}
func (*Member) teamStmt()       {}

func (*Timezone) calStmt() {}
func (*Hours) calStmt()    {}
func (*Holiday) calStmt()  {}
func (*Workday) calStmt()  {}

func (*ScoreRule) scoreStmt() {}
func (*Decay) scoreStmt()     {}
func (*Limit) scoreStmt()     {}

func (*OwnerBlock) cellPart() {}
func (*Assess) cellPart()     {}
func (*Advance) cellPart()    {}
func (*Develop) cellPart()    {}

func (*StandardStages) standardStmt() {}
func (*Require) standardStmt()        {}
func (*LeadSchema) standardStmt()     {}
func (*Event) standardStmt()          {}
func (*StandardRule) standardStmt()   {}

func (*At) testStmt()       {}
func (*Capture) testStmt()  {}
func (*Send) testStmt()     {}
func (*Override) testStmt() {}
func (*Wait) testStmt()     {}
func (*Expect) testStmt()   {}

func (*Disqualify) stageStmt() {}
func (*Qualify) stageStmt()    {}
func (*Undecided) stageStmt()  {}
func (*Route) stageStmt()      {}
func (*Accept) stageStmt()     {}
func (*Reject) stageStmt()     {}
func (*Nurture) stageStmt()    {}
func (*Reassess) stageStmt()   {}
func (*Recycle) stageStmt()    {}
func (*OwnerBlock) stageStmt() {}
func (*EnterExit) stageStmt()  {}
func (*On) stageStmt()         {}
func (*When) stageStmt()       {}
func (*After) stageStmt()      {}
func (*SLA) stageStmt()        {}
func (*Lifecycle) stageStmt()  {}

func (*Warn) slaClause()   {}
func (*Breach) slaClause() {}

func (*Set) action()      {}
func (*Assign) action()   {}
func (*Reassign) action() {}
func (*Notify) action()   {}
func (*Escalate) action() {}
func (*Move) action()     {}
