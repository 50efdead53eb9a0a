package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/leadlang/lead/docs"
)

// Every answer the harness's requests get is checked against the API's
// OpenAPI document (docs/api/openapi.json) with a maintained validator:
// the document is the contract clients read, so an answer it does not
// describe fails the test that got it. Requests to paths the API does not
// have (tests of the 404 for them) have no operation to check against.

var (
	apiValidator     validator.Validator
	apiSchemas       map[string]*base.Schema // the document's components
	schemaValidator  schema_validation.SchemaValidator
	apiValidatorErr  error
	apiValidatorOnce sync.Once
	// apiValidatorMu serialises validations: the validator caches
	// compiled schemas.
	apiValidatorMu sync.Mutex
)

func openAPIValidator() (validator.Validator, error) {
	apiValidatorOnce.Do(func() {
		doc, err := libopenapi.NewDocument(docs.OpenAPI)
		if err != nil {
			apiValidatorErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			apiValidatorErr = fmt.Errorf("docs/api/openapi.json: %v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			apiValidatorErr = fmt.Errorf("docs/api/openapi.json is not a valid OpenAPI document: %v", verrs)
			return
		}
		model, err := doc.BuildV3Model()
		if err != nil {
			apiValidatorErr = err
			return
		}
		apiSchemas = map[string]*base.Schema{}
		for name, proxy := range model.Model.Components.Schemas.FromOldest() {
			apiSchemas[name] = proxy.Schema()
		}
		schemaValidator = schema_validation.NewSchemaValidator()
		apiValidator = v
	})
	return apiValidator, apiValidatorErr
}

// validating is an http.RoundTripper that checks every answer against the
// OpenAPI document and reports what does not conform to its test.
type validating struct {
	t    testing.TB
	next http.RoundTripper
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil || resp.Header.Get("Content-Type") == "application/octet-stream" {
		return resp, err // a backup streams; its format is the store's
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	checkAnswer(v.t, req, resp, body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// checkAnswer validates one answer.
func checkAnswer(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	val, err := openAPIValidator()
	if err != nil {
		t.Error(err)
		return
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		checkLines(t, req, body, "StepLine")
		return
	}
	apiValidatorMu.Lock()
	ok, errs := val.ValidateHttpResponse(req, resp)
	apiValidatorMu.Unlock()
	if ok {
		return
	}
	var real []string
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation {
			switch e.ValidationSubType {
			case helpers.ValidationMissing, helpers.ValidationMissingOperation, helpers.ValidationAmbiguousPath:
				// Not an endpoint of the API (an unknown path or method, or
				// one with . or .. segments): nothing describes it.
				continue
			}
		}
		real = append(real, e.Error())
	}
	if len(real) > 0 {
		t.Errorf("%s %s answered %d, which docs/api/openapi.json does not describe:\n  %s\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(real, "\n  "), body)
	}
}

// checkLines validates each line of an NDJSON answer against a schema of
// the document's components (the validator reads a body as one value).
func checkLines(t testing.TB, req *http.Request, body []byte, schema string) {
	t.Helper()
	for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		apiValidatorMu.Lock()
		ok, errs := schemaValidator.ValidateSchemaBytes(apiSchemas[schema], line)
		apiValidatorMu.Unlock()
		if !ok {
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
				for _, se := range e.SchemaValidationErrors {
					msgs = append(msgs, se.Reason+" at "+se.FieldPath)
				}
			}
			t.Errorf("%s %s: line %d is not a %s of docs/api/openapi.json:\n  %s\nline: %s", req.Method, req.URL.Path, i+1, schema, strings.Join(msgs, "\n  "), line)
		}
	}
}
