package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"sort"

	"github.com/leadlang/lead/lang"
)

// SARIF constants: the schema, and where the tool is documented.
const (
	SARIFSchema    = "https://json.schemastore.org/sarif-2.1.0.json"
	SARIFVersion   = "2.1.0"
	InformationURI = "https://github.com/leadlang/lead"
)

// The subset of SARIF 2.1.0 that lead writes. Field names and nesting follow
// the OASIS specification; optional members are omitted when empty.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool sarifTool `json:"tool"`
		// ColumnKind says columns count Unicode code points (runes), not
		// UTF-16 code units, SARIF's default.
		ColumnKind string        `json:"columnKind"`
		Results    []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		ShortDescription sarifMessage `json:"shortDescription"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID           string          `json:"ruleId"`
		RuleIndex        int             `json:"ruleIndex"`
		Level            string          `json:"level"`
		Message          sarifMessage    `json:"message"`
		Locations        []sarifLocation `json:"locations"`
		RelatedLocations []sarifLocation `json:"relatedLocations,omitempty"`
		Fixes            []sarifFix      `json:"fixes,omitempty"`
	}
	sarifLocation struct {
		ID               *int                  `json:"id,omitempty"`
		PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
		Message          *sarifMessage         `json:"message,omitempty"`
	}
	sarifPhysicalLocation struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
		Region           sarifRegion           `json:"region"`
	}
	sarifArtifactLocation struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
		EndLine     int `json:"endLine"`
		EndColumn   int `json:"endColumn"`
	}
	sarifFix struct {
		Description     sarifMessage          `json:"description"`
		ArtifactChanges []sarifArtifactChange `json:"artifactChanges"`
	}
	sarifArtifactChange struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
		Replacements     []sarifReplacement    `json:"replacements"`
	}
	sarifReplacement struct {
		DeletedRegion   sarifRegion  `json:"deletedRegion"`
		InsertedContent sarifMessage `json:"insertedContent"`
	}
)

// SARIF writes a SARIF 2.1.0 log with one run: the lead driver with a rule
// per diagnostic code, and a result per diagnostic with its location,
// related locations and suggested fixes as replacements.
func SARIF(w io.Writer, ds lang.Diagnostics, opts Options) error {
	ruleIndex := map[string]int{}
	var rules []sarifRule
	for _, d := range ds {
		if _, ok := ruleIndex[d.Code]; ok {
			continue
		}
		desc := ""
		if opts.Describe != nil {
			desc = opts.Describe(d.Code)
		}
		if desc == "" {
			desc = d.Summary
		}
		ruleIndex[d.Code] = -1
		rules = append(rules, sarifRule{ID: d.Code, ShortDescription: sarifMessage{desc}})
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	for i, r := range rules {
		ruleIndex[r.ID] = i
	}

	results := make([]sarifResult, 0, len(ds))
	for _, d := range ds {
		res := sarifResult{
			RuleID: d.Code, RuleIndex: ruleIndex[d.Code], Level: sarifLevel(d.Severity),
			Message:   sarifMessage{Message(d)},
			Locations: []sarifLocation{{PhysicalLocation: physical(d.File, d.Subject)}},
		}
		for i, rel := range d.Related {
			id := i + 1
			res.RelatedLocations = append(res.RelatedLocations, sarifLocation{
				ID: &id, PhysicalLocation: physical(rel.File, rel.Span), Message: &sarifMessage{rel.Message},
			})
		}
		for _, f := range d.Fixes {
			res.Fixes = append(res.Fixes, sarifFix{
				Description: sarifMessage{f.Message},
				ArtifactChanges: []sarifArtifactChange{{
					ArtifactLocation: sarifArtifactLocation{fileURI(d.File.Name)},
					Replacements: []sarifReplacement{{
						DeletedRegion: sarifRegionOf(d.File, d.Subject), InsertedContent: sarifMessage{f.Replace},
					}},
				}},
			})
		}
		results = append(results, res)
	}

	log := sarifLog{
		Schema: SARIFSchema, Version: SARIFVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name: "lead", Version: opts.ToolVersion, InformationURI: InformationURI,
				Rules: append([]sarifRule{}, rules...),
			}},
			ColumnKind: "unicodeCodePoints",
			Results:    results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func sarifLevel(s lang.Severity) string {
	switch s {
	case lang.Error:
		return "error"
	case lang.Warning:
		return "warning"
	}
	return "note"
}

func physical(f *lang.File, s lang.Span) sarifPhysicalLocation {
	return sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{fileURI(f.Name)}, Region: sarifRegionOf(f, s)}
}

func sarifRegionOf(f *lang.File, s lang.Span) sarifRegion {
	r := subjectRegion(f, s)
	return sarifRegion{StartLine: r.line, StartColumn: r.col, EndLine: r.endLine, EndColumn: r.endCol}
}

// fileURI turns a file name into a SARIF artifact URI: relative names stay
// relative (code-scanning tools resolve them against the checkout),
// absolute ones become file:// URIs.
func fileURI(name string) string {
	p := filepath.ToSlash(name)
	if filepath.IsAbs(name) {
		if p[0] != '/' {
			p = "/" + p // a Windows drive letter
		}
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}
