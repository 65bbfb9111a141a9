package fetch

import (
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFilenameBytes keeps names well under the 255-byte limit of common file
// systems, with room for a suffix a caller may add.
const maxFilenameBytes = 200

// filename picks a document's file name from a Content-Disposition header,
// else from the last segment of u's path, and sanitises it. It returns ""
// when neither yields a usable name.
func filename(disposition string, u *url.URL) string {
	if disposition != "" {
		// ParseMediaType decodes RFC 2231 filename* parameters too.
		if _, params, err := mime.ParseMediaType(disposition); err == nil {
			if name := sanitizeFilename(params["filename"]); name != "" {
				return name
			}
		}
	}
	if u == nil {
		return ""
	}
	seg := u.Path
	if i := strings.LastIndexByte(seg, '/'); i >= 0 {
		seg = seg[i+1:]
	}
	return sanitizeFilename(seg)
}

// sanitizeFilename makes a name that a server sent safe to store and show:
// directories are dropped (whether written with / or \), control and
// invisible formatting characters (such as right-to-left overrides) are
// removed, characters that are reserved in file names or would break a
// quoted header are replaced with "_", whitespace is collapsed, leading and
// trailing dots and spaces are trimmed (no "..", no hidden files), and the
// result is cut to maxFilenameBytes keeping a short extension.
func sanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if strings.ContainsRune(`<>:"|?*`, r) {
			r = '_'
		}
		b.WriteRune(r)
	}
	name = strings.Trim(b.String(), ". ")
	if len(name) > maxFilenameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 || len(ext) == len(name) {
			ext = ""
		}
		stem := name[:len(name)-len(ext)]
		cut := maxFilenameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		name = strings.TrimRight(stem[:cut], ". ") + ext
	}
	return name
}
