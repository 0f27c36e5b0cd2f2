package escape

// DOT returns s as a graphviz double-quoted string, quotes included, that
// a label shows literally: Text's escapes first, then what graphviz itself
// interprets. A backslash is doubled (graphviz reads \n, \l, \N, \G... in
// labels), a double quote is \", and & is &amp; (graphviz decodes HTML
// entities in every label, so a file named "a&lt;" would otherwise show as
// "a<"). The result never starts with '<', so it is never read as an HTML
// label, and it is a valid Go string literal, which gonum's DOT encoder
// passes through unchanged. It is for the labels of box and ellipse
// shapes, not of record shapes, whose labels also give meaning to {, |, <
// and >.
func DOT(s string) string {
	t := AppendText(nil, s)
	b := make([]byte, 0, len(t)+8)
	b = append(b, '"')
	for _, c := range t {
		switch c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '&':
			b = append(b, "&amp;"...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}
