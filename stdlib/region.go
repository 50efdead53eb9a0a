package stdlib

import "strings"

// Sales regions returned by RegionOf, the values of the lead schema's
// `region enum(na, emea, apac, latam)`.
const (
	RegionNA    = "na"
	RegionEMEA  = "emea"
	RegionAPAC  = "apac"
	RegionLATAM = "latam"
)

// RegionOf returns the sales region of an ISO 3166-1 alpha-2 country code
// (any case, surrounding spaces ignored), or "" for a code that is not
// assigned. The package documentation gives the rule.
func RegionOf(countryCode string) string {
	return regions[strings.ToUpper(strings.TrimSpace(countryCode))]
}

// regions maps all 249 assigned ISO 3166-1 alpha-2 codes, grouped by UN M49
// region.
var regions = func() map[string]string {
	m := make(map[string]string, 249)
	add := func(region string, codes ...string) {
		for _, c := range codes {
			m[c] = region
		}
	}
	// Northern America, and the US territories.
	add(RegionNA, "US", "CA", "BM", "GL", "PM",
		"PR", "VI", "GU", "AS", "MP", "UM")

	// Latin America and the Caribbean.
	add(RegionLATAM,
		// Caribbean
		"AI", "AG", "AW", "BS", "BB", "BQ", "VG", "KY", "CU", "CW", "DM", "DO", "GD",
		"GP", "HT", "JM", "MQ", "MS", "BL", "KN", "LC", "MF", "VC", "SX", "TT", "TC",
		// Central America
		"BZ", "CR", "SV", "GT", "HN", "MX", "NI", "PA",
		// South America
		"AR", "BO", "BV", "BR", "CL", "CO", "EC", "FK", "GF", "GY", "PY", "PE", "GS",
		"SR", "UY", "VE")

	add(RegionEMEA,
		// Eastern Europe
		"BY", "BG", "CZ", "HU", "PL", "MD", "RO", "RU", "SK", "UA",
		// Northern Europe
		"AX", "DK", "EE", "FO", "FI", "GG", "IS", "IE", "IM", "JE", "LV", "LT", "NO",
		"SJ", "SE", "GB",
		// Southern Europe
		"AL", "AD", "BA", "HR", "GI", "GR", "VA", "IT", "MT", "ME", "MK", "PT", "SM",
		"RS", "SI", "ES",
		// Western Europe
		"AT", "BE", "FR", "DE", "LI", "LU", "MC", "NL", "CH",
		// Western Asia, and Iran (M49 puts it in Southern Asia)
		"AM", "AZ", "BH", "CY", "GE", "IQ", "IL", "JO", "KW", "LB", "OM", "QA", "SA",
		"PS", "SY", "TR", "AE", "YE", "IR",
		// Northern Africa
		"DZ", "EG", "LY", "MA", "SD", "TN", "EH",
		// Eastern Africa
		"IO", "BI", "KM", "DJ", "ER", "ET", "TF", "KE", "MG", "MW", "MU", "YT", "MZ",
		"RE", "RW", "SC", "SO", "SS", "UG", "TZ", "ZM", "ZW",
		// Middle Africa
		"AO", "CM", "CF", "TD", "CG", "CD", "GQ", "GA", "ST",
		// Southern Africa
		"BW", "SZ", "LS", "NA", "ZA",
		// Western Africa
		"BJ", "BF", "CV", "CI", "GM", "GH", "GN", "GW", "LR", "ML", "MR", "NE", "NG",
		"SH", "SN", "SL", "TG")

	add(RegionAPAC,
		// Central Asia
		"KZ", "KG", "TJ", "TM", "UZ",
		// Eastern Asia
		"CN", "HK", "MO", "KP", "JP", "MN", "KR", "TW",
		// South-eastern Asia
		"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "TL", "VN",
		// Southern Asia (Iran aside)
		"AF", "BD", "BT", "IN", "MV", "NP", "PK", "LK",
		// Australia and New Zealand
		"AU", "CX", "CC", "HM", "NZ", "NF",
		// Melanesia
		"FJ", "NC", "PG", "SB", "VU",
		// Micronesia (Guam and the Northern Marianas aside)
		"KI", "MH", "FM", "NR", "PW",
		// Polynesia (American Samoa aside)
		"CK", "PF", "NU", "PN", "WS", "TK", "TO", "TV", "WF",
		// Antarctica, which has no M49 region, goes with Oceania.
		"AQ")
	return m
}()
