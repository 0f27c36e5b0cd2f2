package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSARIFValidatesAgainstSchema validates the SARIF output, for a report
// with every rule firing, against the SARIF 2.1.0 JSON schema.
func TestSARIFValidatesAgainstSchema(t *testing.T) {
	f, err := os.Open("testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	// The schema is really applied: a wrong version and a result without
	// a message are refused.
	for _, bad := range []string{
		`{"version": "3.0", "runs": []}`,
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "KG001"}]}]}`,
	} {
		var v any
		json.Unmarshal([]byte(bad), &v)
		if schema.Validate(v) == nil {
			t.Errorf("schema accepted %s", bad)
		}
	}
	for _, exact := range []bool{true, false} {
		s := host(t)
		s.Exact = exact
		rep, err := Run(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := rep.WriteSARIF(&buf, "test"); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("SARIF (exact=%v) does not validate against the 2.1.0 schema: %v", exact, err)
		}
		// An empty report is valid too.
		empty, _ := Run(s, Options{Rules: []string{"KG005"}, Disable: nil})
		empty.Findings = nil
		buf.Reset()
		empty.WriteSARIF(&buf, "test")
		var v any
		if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("empty SARIF does not validate: %v", err)
		}
	}
}
