package compiler

// Diagnostic codes of the compiler. They are stable: docs, editors and CI
// filters refer to them. Syntax errors (E001–E099) come from lang.
const (
	// Names and declarations.
	CodeDuplicate      = "E100" // a name declared twice
	CodeUnknownStage   = "E101"
	CodeUnknownEvent   = "E102"
	CodeUnknownRole    = "E103"
	CodeUnknownTeam    = "E104"
	CodeUnknownRouting = "E105"
	CodeUnknownCal     = "E106"
	CodeUnknownField   = "E107"
	CodeUnknownStd     = "E108" // unknown standard or std module
	CodeHeader         = "E109" // missing or misplaced `workflow` header
	CodeNoStart        = "E110"
	CodeTooLarge       = "E111" // a compiled workflow larger than lead run stores
	CodeWorkflowTwice  = "E117" // two files declare one workflow
	CodeBuiltinAttr    = "E112"
	CodeUnknownType    = "E113"
	CodeBadLiteral     = "E114" // a default or value that does not fit its type
	CodeBadEnum        = "E115" // an enum value outside the enum
	CodeUnknownExc     = "E116"

	// Expressions.
	CodeExpr      = "E120" // CEL: unknown name, field or function; parse errors
	CodeExprType  = "E121" // wrong result or operand type
	CodeEnumCheck = "E122" // an enum field compared with a value outside it

	// Owners and routing.
	CodeAccountable  = "E130" // a non-terminal stage without exactly one accountable
	CodeOwnerKind    = "E131" // a RACI target of the wrong kind
	CodeNotExhaustve = "E140" // a routing without else that is not exhaustive

	// Graph.
	CodeTerminalMoves = "E141" // a terminal stage with transitions, timers or SLAs
	CodeAutoCycle     = "E142" // a cycle of always-true automatic transitions
	CodeMoveNotLast   = "E163" // `-> T` not last, or where moves are not allowed
	CodeMisplaced     = "E170" // a statement where it does not belong
	CodeRepeated      = "E171" // a statement that may appear once, repeated
	CodeScoreField    = "E172"
	CodeStrategy      = "E173"
	CodeMemberAttrs   = "E174"
	CodeCapacity      = "E175"

	// Time.
	CodeTimezone = "E150"
	CodeHours    = "E151"
	CodeDate     = "E152"
	CodeCalendar = "E153" // missing timezone or hours
	CodeWorkday  = "E154" // a workday given twice or also a holiday
	CodeDuration = "E160"
	CodePercent  = "E161"
	CodeWarnAt   = "E162"

	// Standards.
	CodeNoLifecycle     = "E180"
	CodeLifecycleName   = "E181"
	CodeLifecycleKind   = "E182" // terminal mapped to non-terminal or back
	CodeRequirement     = "E183"
	CodeUselessWaiver   = "E184"
	CodeUnknownRequire  = "E185"
	CodeStandardInvalid = "E186"
	CodeWaiverScope     = "E187" // a waiver that would cover several deviations
	CodeVocabulary      = "E188" // a conforming workflow redefining the standard's vocabulary

	// Tests.
	CodeTest = "E190"

	// Warnings.
	CodeUnreachable   = "W001"
	CodeWaitsForever  = "W002"
	CodeNoTerminal    = "W003"
	CodeShadowed      = "W004"
	CodeUnused        = "W005"
	CodeOptionalRead  = "W006"
	CodeCalendarDays  = "W007" // a duration on a calendar written in days or weeks
	CodeWaiverExpired = "W008" // a waiver past its `until` date

	// Notes (never fail a check).
	CodeWaiver = "N001" // a waived requirement of the standard, with its reason
)
