// Package docs holds Lead's user documentation: the language reference
// and tutorial (language/), the HTTP API's OpenAPI document (api/), the
// runtime's guide and the command reference. It is a Go package only so
// that the binary can serve the API's description (OpenAPI) and the tests
// can check every example in these pages.
package docs

import _ "embed"

// OpenAPI is the HTTP API's OpenAPI 3.1 document, served by `lead run` at
// GET /v1/openapi.json.
//
//go:embed api/openapi.json
var OpenAPI []byte
