package extract

import (
	"context"
	"strings"
)

// extractPlain decodes and normalizes a text file; it has no title.
func extractPlain(_ context.Context, data []byte, h Hint) (Result, error) {
	return Result{Text: normalize(decodeText(data, h.ContentType))}, nil
}

// extractMarkdown keeps Markdown as written, normalized, with two changes
// that help the chunker find sections: front matter is removed (its title
// kept), and setext headings ("Title" over "=====") become "# Title". The
// title is the front-matter title, else the first "# " heading; a
// front-matter title is also written as a "# " heading when the text has
// none, so that every section's heading path starts with the document.
func extractMarkdown(_ context.Context, data []byte, h Hint) (Result, error) {
	s := strings.TrimPrefix(decodeText(data, h.ContentType), "\ufeff")
	title := ""
	if fm, body, ok := splitFrontMatter(s); ok {
		title = frontMatterTitle(fm)
		s = body
	}
	text := normalize(setextToATX(s))
	if title == "" {
		title = firstHeading(text)
	} else if text != "" && !hasHeadingLevel1(text) {
		text = "# " + cleanTitle(title) + "\n\n" + text
	}
	return Result{Title: title, Text: text}, nil
}

// splitFrontMatter splits a leading YAML ("---") or TOML ("+++") front
// matter block off s. It reports false when s has none or it is not closed
// within its first 64 KiB.
func splitFrontMatter(s string) (fm, body string, ok bool) {
	var delim string
	switch {
	case strings.HasPrefix(s, "---\n"), strings.HasPrefix(s, "---\r\n"):
		delim = "---"
	case strings.HasPrefix(s, "+++\n"), strings.HasPrefix(s, "+++\r\n"):
		delim = "+++"
	default:
		return "", "", false
	}
	_, rest, _ := strings.Cut(s, "\n")
	for off := 0; off < len(rest) && off < 64<<10; {
		end := strings.IndexByte(rest[off:], '\n')
		line := rest[off:]
		next := len(rest)
		if end >= 0 {
			line = rest[off : off+end]
			next = off + end + 1
		}
		line = strings.TrimRight(line, " \t\r")
		if line == delim || (delim == "---" && line == "...") {
			return rest[:off], rest[next:], true
		}
		off = next
	}
	return "", "", false
}

// frontMatterTitle returns the value of a top-level "title:" (YAML) or
// "title =" (TOML) key, unquoted, or "".
func frontMatterTitle(fm string) string {
	for line := range strings.Lines(fm) {
		line = strings.TrimRight(line, "\r\n")
		key, value, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(key, "= ") {
			key, value, ok = strings.Cut(line, "=")
		}
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "title") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			continue
		}
		value = strings.TrimSpace(value)
		if i := strings.Index(value, " #"); i >= 0 && !strings.HasPrefix(value, `"`) && !strings.HasPrefix(value, "'") {
			value = strings.TrimSpace(value[:i])
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			quote := value[0]
			value = value[1 : len(value)-1]
			if quote == '"' {
				value = strings.ReplaceAll(value, `\"`, `"`)
			} else {
				value = strings.ReplaceAll(value, "''", "'")
			}
		}
		if value == "|" || value == ">" {
			return ""
		}
		return value
	}
	return ""
}

// firstHeading returns the text of the first "# " heading outside fences.
func firstHeading(text string) string {
	var fenceChar byte
	var fenceLen int
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if fenceChar != 0 {
			if fenceCloses([]byte(line), fenceChar, fenceLen) {
				fenceChar = 0
			}
			continue
		}
		if c, n := fenceOpen([]byte(line)); n > 0 {
			fenceChar, fenceLen = c, n
			continue
		}
		if level, t := atxHeading(line); level == 1 && t != "" {
			return t
		}
	}
	return ""
}

// setextToATX rewrites setext headings as ATX ones: a one-line paragraph
// followed by a line of three or more "=" becomes "# text", with "-" it
// becomes "## text". Only a paragraph of one line is taken, so that "---"
// under a longer paragraph stays a thematic break; fences are left alone.
func setextToATX(s string) string {
	if !strings.Contains(s, "==") && !strings.Contains(s, "--") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	var (
		fenceChar byte
		fenceLen  int
		prev      string // the previous line, held back until we know what it is
		havePrev  bool
		prevIsOne bool // prev is a paragraph line that follows a blank line or the start
		lastBlank = true
	)
	flush := func() {
		if havePrev {
			b.WriteString(prev)
			b.WriteByte('\n')
			havePrev = false
		}
	}
	for len(s) > 0 {
		var line string
		line, s = cutLine(s)
		trimmed := strings.TrimSpace(line)
		if fenceChar != 0 {
			flush()
			if fenceCloses([]byte(line), fenceChar, fenceLen) {
				fenceChar = 0
			}
			b.WriteString(line)
			b.WriteByte('\n')
			lastBlank = false
			continue
		}
		if c, n := fenceOpen([]byte(line)); n > 0 {
			flush()
			fenceChar, fenceLen = c, n
			b.WriteString(line)
			b.WriteByte('\n')
			lastBlank = false
			continue
		}
		if havePrev && prevIsOne && isSetextUnderline(trimmed) {
			level := "# "
			if trimmed[0] == '-' {
				level = "## "
			}
			b.WriteString(level)
			b.WriteString(strings.TrimSpace(prev))
			b.WriteByte('\n')
			havePrev = false
			lastBlank = false
			continue
		}
		flush()
		prev, havePrev = line, true
		prevIsOne = lastBlank && trimmed != "" && isPlainParagraphLine(line)
		lastBlank = trimmed == ""
	}
	flush()
	return b.String()
}

// isSetextUnderline reports whether t is three or more '=' or '-' only.
func isSetextUnderline(t string) bool {
	if len(t) < 3 || (t[0] != '=' && t[0] != '-') {
		return false
	}
	return strings.Trim(t, t[:1]) == ""
}

// isPlainParagraphLine reports whether line could be a one-line paragraph
// (not indented code, a list item, a quote, a heading, a table row or HTML).
func isPlainParagraphLine(line string) bool {
	if strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t") {
		return false
	}
	t := strings.TrimSpace(line)
	if level, _ := atxHeading(t); level > 0 {
		return false
	}
	switch t[0] {
	case '>', '|', '<', '-', '*', '+':
		return false
	}
	if i := strings.IndexAny(t, ".)"); i > 0 && i < 10 && strings.Trim(t[:i], "0123456789") == "" {
		return false
	}
	return true
}
