package stdlib

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func TestDomain(t *testing.T) {
	for in, want := range map[string]string{
		" Ana@Big.Example ":  "big.example",
		"cio@big.example":    "big.example",
		"a@b@C.org":          "c.org", // the last '@'
		"\tx@EXAMPLE.COM\n":  "example.com",
		"no-at-sign.example": "",
		"":                   "",
		"ana@":               "",
		"@acme.example":      "acme.example",
	} {
		if got := Domain(in); got != want {
			t.Errorf("Domain(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestIsFreeEmail(t *testing.T) {
	for in, want := range map[string]bool{
		"someone@gmail.com":       true,
		" Someone@GMail.COM ":     true,
		"x@googlemail.com":        true,
		"x@yahoo.co.uk":           true,
		"x@hotmail.fr":            true,
		"x@outlook.com":           true,
		"x@live.com":              true,
		"x@msn.com":               true,
		"x@aol.com":               true,
		"x@icloud.com":            true,
		"x@me.com":                true,
		"x@mac.com":               true,
		"x@proton.me":             true,
		"x@protonmail.com":        true,
		"x@gmx.de":                true,
		"x@gmx.net":               true,
		"x@gmx.com":               true,
		"x@web.de":                true,
		"x@mail.com":              true,
		"x@yandex.ru":             true,
		"x@yandex.com":            true,
		"x@qq.com":                true,
		"x@163.com":               true,
		"x@126.com":               true,
		"x@zoho.com":              true,
		"x@fastmail.com":          true,
		"x@hey.com":               true,
		"cio@big.example":         false,
		"x@acme.com":              false,
		"x@mail.gmail.com":        false, // whole-domain match only
		"x@gmail.com.example.org": false,
		"gmail.com":               false, // no '@'
		"":                        false,
	} {
		if got := IsFreeEmail(in); got != want {
			t.Errorf("IsFreeEmail(%q) = %v; want %v", in, got, want)
		}
	}
	for d := range freeEmailDomains {
		if d != strings.ToLower(strings.TrimSpace(d)) || !strings.Contains(d, ".") {
			t.Errorf("free-mail domain %q is not a lower-case domain", d)
		}
	}
}

func TestRegionOf(t *testing.T) {
	for in, want := range map[string]string{
		"US": "na", "ca": "na", " us ": "na", "PR": "na", "VI": "na", "GU": "na",
		"BM": "na", "GL": "na", "PM": "na", "UM": "na",
		"MX": "latam", "BR": "latam", "ar": "latam", "CL": "latam", "JM": "latam",
		"CU": "latam", "GT": "latam", "PA": "latam", "FK": "latam", "BQ": "latam",
		"GB": "emea", "de": "emea", "FR": "emea", "RU": "emea", "TR": "emea",
		"AE": "emea", "SA": "emea", "IL": "emea", "IR": "emea", "EG": "emea",
		"ZA": "emea", "NG": "emea", "KE": "emea", "CY": "emea", "GE": "emea",
		"RE": "emea", "AX": "emea", "VA": "emea",
		"JP": "apac", "CN": "apac", "IN": "apac", "AU": "apac", "NZ": "apac",
		"SG": "apac", "KR": "apac", "ID": "apac", "PK": "apac", "KZ": "apac",
		"TW": "apac", "HK": "apac", "FJ": "apac", "PF": "apac", "AQ": "apac",
		"": "", "ZZ": "", "UK": "", "EU": "", "XK": "", "USA": "", "U": "",
	} {
		if got := RegionOf(in); got != want {
			t.Errorf("RegionOf(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestRegionsCoverISO3166(t *testing.T) {
	if len(regions) != 249 {
		t.Errorf("%d codes mapped; ISO 3166-1 assigns 249", len(regions))
	}
	count := map[string]int{}
	for code, r := range regions {
		if len(code) != 2 || code != strings.ToUpper(code) {
			t.Errorf("bad code %q", code)
		}
		switch r {
		case RegionNA, RegionEMEA, RegionAPAC, RegionLATAM:
			count[r]++
		default:
			t.Errorf("%s maps to %q", code, r)
		}
	}
	want := map[string]int{RegionNA: 11, RegionLATAM: 50, RegionEMEA: 130, RegionAPAC: 58}
	for r, n := range want {
		if count[r] != n {
			t.Errorf("%s: %d codes; want %d", r, count[r], n)
		}
	}

	// The time zone database's list of codes, where the system has one.
	f, err := os.Open("/usr/share/zoneinfo/iso3166.tab")
	if err != nil {
		t.Skip("no iso3166.tab on this system")
	}
	defer f.Close()
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		code, name, _ := strings.Cut(line, "\t")
		seen++
		if RegionOf(code) == "" {
			t.Errorf("%s (%s) has no region", code, name)
		}
	}
	if seen != len(regions) {
		t.Errorf("iso3166.tab lists %d codes; regions has %d", seen, len(regions))
	}
}
