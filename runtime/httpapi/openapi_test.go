package httpapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"

	"github.com/leadlang/lead/docs"
)

// TestOpenAPIRoutes: every endpoint the server registers is described in
// docs/api/openapi.json, with its method, and the document describes no
// endpoint the server does not have. (runtime/integration validates every
// answer of its tests against the document.)
func TestOpenAPIRoutes(t *testing.T) {
	doc, err := libopenapi.NewDocument(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("docs/api/openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Errorf("OpenAPI version %s, want 3.1", v)
	}
	var documented []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := Routes()
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("the server serves %s, which docs/api/openapi.json does not describe", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("docs/api/openapi.json describes %s, which the server does not serve", d)
		}
	}
}
