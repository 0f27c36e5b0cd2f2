package escape

import "strings"

// htmlReplacer writes the characters HTML and XML give meaning to as
// character references.
var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// HTML returns s for HTML or SVG (XML) text and for attribute values in
// double or single quotes: Text's escapes first, then &, <, >, " and '
// as character references. The result holds no markup, no character XML
// forbids and nothing a browser would reorder or hide; it reads like the
// same string in a terminal.
func HTML(s string) string {
	return htmlReplacer.Replace(Text(s))
}
