package webview

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// assets are the page's own files; vendor/ holds the pan/zoom library
// (see vendor/svg-pan-zoom/VERSION and the Makefile's vendor target).
//
//go:embed assets/index.html assets/app.js assets/app.css assets/vendor/svg-pan-zoom/svg-pan-zoom.min.js
var assets embed.FS

const panZoomJS = "assets/vendor/svg-pan-zoom/svg-pan-zoom.min.js"

func asset(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil { // the names are embedded above
		panic(err)
	}
	return b
}

// Markers in index.html that the report and the server fill in.
const (
	markHead   = "<!--kg:head-->"
	markData   = "<!--kg:data-->"
	markScript = "<!--kg:scripts-->"
)

// page fills index.html's markers.
func page(head, data, scripts string) []byte {
	r := strings.NewReplacer(markHead, head, markData, data, markScript, scripts)
	return []byte(r.Replace(string(asset("assets/index.html"))))
}

// hash is a CSP source for an inline element's exact text.
func hash(text []byte) string {
	sum := sha256.Sum256(text)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// inline returns text for an inline element of the given tag, refusing
// text that could end the element or open a comment in it (ours never
// does; the check makes it so).
func inline(tag string, text []byte) ([]byte, error) {
	lower := bytes.ToLower(text)
	if bytes.Contains(lower, []byte("</"+tag)) || bytes.Contains(lower, []byte("<!--")) {
		return nil, fmt.Errorf("webview: embedded %s text holds </%s or <!--", tag, tag)
	}
	return text, nil
}

// ReportCSP is the Content-Security-Policy of a report, less its hashes:
// nothing but the page's own inline script and style runs or applies,
// and nothing is fetched.
const ReportCSP = "default-src 'none'; script-src %s; style-src %s; img-src 'none'; base-uri 'none'; form-action 'none'"

// dataJSON encodes the model for a <script type="application/json">
// element: encoding/json writes <, > and & as \u003c, \u003e and \u0026
// and U+2028 and U+2029 as escapes, so the text can never end the
// element or be read as anything but JSON.
func dataJSON(m *Model) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// WriteReport writes the self-contained page of a model: style, scripts
// and data inline, a meta Content-Security-Policy that allows only the
// page's own inline script and style by their hashes. Opened from a file,
// offline, it fetches nothing.
func WriteReport(w io.Writer, m *Model) error {
	data, err := dataJSON(m)
	if err != nil {
		return err
	}
	css, err := inline("style", asset("assets/app.css"))
	if err != nil {
		return err
	}
	var scripts [][]byte
	for _, name := range []string{panZoomJS, "assets/app.js"} {
		js, err := inline("script", asset(name))
		if err != nil {
			return err
		}
		scripts = append(scripts, js)
	}
	csp := fmt.Sprintf(ReportCSP, hash(scripts[0])+" "+hash(scripts[1]), hash(css))
	head := `<meta http-equiv="Content-Security-Policy" content="` + csp + `">` + "\n<style>" + string(css) + "</style>"
	var sc strings.Builder
	for _, js := range scripts {
		sc.WriteString("<script>")
		sc.Write(js)
		sc.WriteString("</script>\n")
	}
	_, err = w.Write(page(head, `<script type="application/json" id="kg-data">`+string(data)+`</script>`, sc.String()))
	return err
}
