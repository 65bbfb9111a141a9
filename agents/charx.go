package agents

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Limits on CHARX archives.
const (
	// MaxCHARXBytes is the largest CHARX archive accepted or written.
	MaxCHARXBytes = 64 << 20
	// MaxCHARXEntryBytes bounds the inflated size of one archive entry,
	// counted while reading (header sizes are not trusted).
	MaxCHARXEntryBytes = 32 << 20
	// MaxCHARXTotalBytes bounds the inflated size of all entries together.
	MaxCHARXTotalBytes = 128 << 20
	// MaxCHARXEntries is the most entries (directories included) an archive
	// may hold.
	MaxCHARXEntries = 1000
	// maxCHARXName bounds the length of an entry name.
	maxCHARXName = 1024
)

// CHARXCardPath is the archive path of the card inside a CHARX file.
const CHARXCardPath = "card.json"

// URI schemes of V3 assets stored inside a CHARX archive. The spec spells it
// "embeded"; "embedded" is accepted on read.
const (
	embeddedScheme      = "embeded://"
	embeddedSchemeFixed = "embedded://"
)

// ParseCHARX reads a CHARX archive: the card from card.json (any spec
// ParseCardJSON accepts; V3 is expected) and every other file, by its path
// inside the archive. Directories are skipped. Protections:
//
//   - the archive is at most MaxCHARXBytes (else ErrTooLarge);
//   - at most MaxCHARXEntries entries, counted before the central directory
//     is parsed, as an upper bound from the directory header signatures;
//   - entry names must be relative, without "..", backslashes, drive letters,
//     NUL bytes or duplicates;
//   - each entry inflates to at most MaxCHARXEntryBytes and all of them to at
//     most MaxCHARXTotalBytes, counted on the bytes actually read;
//
// breaking any of the last three gives ErrUnsafeArchive. An archive that is
// not a zip, a damaged entry, or a missing card.json gives ErrInvalidCard; an
// entry compressed with a method other than store or deflate gives
// ErrUnsupportedFormat.
func ParseCHARX(data []byte) (Card, map[string][]byte, error) {
	if len(data) > MaxCHARXBytes {
		return Card{}, nil, fmt.Errorf("agents: charx is %d bytes, the limit is %d: %w", len(data), MaxCHARXBytes, ErrTooLarge)
	}
	// Each central directory record starts with this signature; counting
	// them bounds the entries before archive/zip allocates one per record.
	if n := bytes.Count(data, []byte("PK\x01\x02")); n > MaxCHARXEntries {
		return Card{}, nil, fmt.Errorf("agents: charx has up to %d entries, the limit is %d: %w", n, MaxCHARXEntries, ErrUnsafeArchive)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath (GODEBUG zipinsecurepath=0) still returns the
		// reader; the names are checked below either way.
		return Card{}, nil, fmt.Errorf("agents: charx is not a valid zip archive: %v: %w", err, ErrInvalidCard)
	}
	if len(zr.File) > MaxCHARXEntries {
		return Card{}, nil, fmt.Errorf("agents: charx has %d entries, the limit is %d: %w", len(zr.File), MaxCHARXEntries, ErrUnsafeArchive)
	}
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		if err := checkArchivePath(f.Name); err != nil {
			return Card{}, nil, err
		}
		if seen[f.Name] {
			return Card{}, nil, fmt.Errorf("agents: charx entry %q appears twice: %w", truncate(f.Name, 80), ErrUnsafeArchive)
		}
		seen[f.Name] = true
	}
	files := make(map[string][]byte, len(zr.File))
	var total int64
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		b, err := readArchiveEntry(f, MaxCHARXTotalBytes-total)
		if err != nil {
			return Card{}, nil, err
		}
		total += int64(len(b))
		files[f.Name] = b
	}
	raw, ok := files[CHARXCardPath]
	if !ok {
		return Card{}, nil, fmt.Errorf("agents: charx has no %s: %w", CHARXCardPath, ErrInvalidCard)
	}
	delete(files, CHARXCardPath)
	c, err := ParseCardJSON(raw)
	if err != nil {
		return Card{}, nil, fmt.Errorf("agents: charx %s: %w", CHARXCardPath, err)
	}
	return c, files, nil
}

// readArchiveEntry inflates one entry, refusing more than
// MaxCHARXEntryBytes or more than remaining bytes.
func readArchiveEntry(f *zip.File, remaining int64) ([]byte, error) {
	name := truncate(f.Name, 80)
	limit, total := int64(MaxCHARXEntryBytes), false
	if remaining < limit {
		limit, total = remaining, true
	}
	tooBig := func() error {
		if total {
			return fmt.Errorf("agents: charx entries inflate past %d bytes in all: %w", MaxCHARXTotalBytes, ErrUnsafeArchive)
		}
		return fmt.Errorf("agents: charx entry %q inflates past %d bytes: %w", name, MaxCHARXEntryBytes, ErrUnsafeArchive)
	}
	// The declared size is only used to fail early, never to accept.
	if f.UncompressedSize64 > uint64(limit) {
		return nil, tooBig()
	}
	rc, err := f.Open()
	if errors.Is(err, zip.ErrAlgorithm) {
		return nil, fmt.Errorf("agents: charx entry %q uses compression method %d: %w", name, f.Method, ErrUnsupportedFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("agents: charx entry %q: %v: %w", name, err, ErrInvalidCard)
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.Grow(int(min(f.UncompressedSize64, 1<<20)))
	n, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
	if errors.Is(err, zip.ErrFormat) {
		// archive/zip stops an entry that inflates past its declared size.
		return nil, fmt.Errorf("agents: charx entry %q inflates past its declared size: %w", name, ErrUnsafeArchive)
	}
	if err != nil {
		return nil, fmt.Errorf("agents: charx entry %q is damaged: %v: %w", name, err, ErrInvalidCard)
	}
	if n > limit {
		return nil, tooBig()
	}
	return buf.Bytes(), nil
}

// checkArchivePath refuses archive paths that could escape a directory if
// someone ever extracted them, or that are ambiguous.
func checkArchivePath(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("agents: charx entry %q %s: %w", truncate(name, 80), why, ErrUnsafeArchive)
	}
	switch {
	case name == "":
		return bad("has an empty name")
	case len(name) > maxCHARXName:
		return bad("has a name that is too long")
	case strings.ContainsRune(name, 0):
		return bad("contains a NUL byte")
	case strings.Contains(name, `\`):
		return bad("contains a backslash")
	case strings.HasPrefix(name, "/"):
		return bad("is an absolute path")
	case len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z'):
		return bad("starts with a drive letter")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == ".." {
			return bad(`contains ".."`)
		}
	}
	return nil
}

// EncodeCHARX returns a CHARX archive holding card.json (EncodeV3 of c) and
// the given asset files by their archive paths, sorted by path, deflated,
// with fixed timestamps so equal input gives equal bytes. An asset of c whose
// embeded://path has no file in assets is written as it is: a card imported
// as JSON may name files the platform never received, and readers fall back
// to their defaults. Paths follow the rules ParseCHARX enforces; the limits
// on entries and sizes apply too.
func EncodeCHARX(c Card, assets map[string][]byte) ([]byte, error) {
	card, err := EncodeV3(c)
	if err != nil {
		return nil, err
	}
	if len(assets)+1 > MaxCHARXEntries {
		return nil, fmt.Errorf("agents: encode charx: %d assets, the limit is %d: %w", len(assets), MaxCHARXEntries-1, ErrTooLarge)
	}
	total := len(card)
	names := make([]string, 0, len(assets))
	for name, b := range assets {
		if name == CHARXCardPath || strings.HasSuffix(name, "/") {
			return nil, fmt.Errorf("agents: encode charx: asset path %q is reserved: %w", truncate(name, 80), ErrUnsafeArchive)
		}
		if err := checkArchivePath(name); err != nil {
			return nil, fmt.Errorf("agents: encode charx: %w", err)
		}
		if len(b) > MaxCHARXEntryBytes {
			return nil, fmt.Errorf("agents: encode charx: asset %q is %d bytes, the limit is %d: %w", truncate(name, 80), len(b), MaxCHARXEntryBytes, ErrTooLarge)
		}
		total += len(b)
		names = append(names, name)
	}
	if total > MaxCHARXTotalBytes {
		return nil, fmt.Errorf("agents: encode charx: %d bytes of files, the limit is %d: %w", total, MaxCHARXTotalBytes, ErrTooLarge)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	modified := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(name string, b []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	if err := write(CHARXCardPath, card); err != nil {
		return nil, fmt.Errorf("agents: encode charx: %w", err)
	}
	for _, name := range names {
		if err := write(name, assets[name]); err != nil {
			return nil, fmt.Errorf("agents: encode charx: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("agents: encode charx: %w", err)
	}
	if buf.Len() > MaxCHARXBytes {
		return nil, fmt.Errorf("agents: encode charx: archive is %d bytes, the limit is %d: %w", buf.Len(), MaxCHARXBytes, ErrTooLarge)
	}
	return buf.Bytes(), nil
}

// embeddedPath returns the archive path of an embeded:// (or embedded://)
// asset URI.
func embeddedPath(uri string) (string, bool) {
	for _, scheme := range []string{embeddedScheme, embeddedSchemeFixed} {
		if p, ok := strings.CutPrefix(uri, scheme); ok && p != "" {
			return p, true
		}
	}
	return "", false
}

// WithIcon returns c and assets with icon (a PNG) as the card's main icon:
// at the path of c's main icon asset when it has one, else at
// assets/icon/images/main.png with a new icon asset. assets is not modified.
func WithIcon(c Card, assets map[string][]byte, icon []byte) (Card, map[string][]byte) {
	out := make(map[string][]byte, len(assets)+1)
	for k, v := range assets {
		out[k] = v
	}
	c = c.Clone()
	for _, a := range c.Assets {
		if a.Type == "icon" && a.Name == "main" {
			if p, ok := embeddedPath(a.URI); ok {
				if _, found := out[p]; !found {
					out[p] = icon
				}
			}
			return c, out
		}
	}
	const path = "assets/icon/images/main.png"
	if _, taken := out[path]; !taken {
		out[path] = icon
		c.Assets = append(c.Assets, Asset{Type: "icon", URI: embeddedScheme + path, Name: "main", Ext: "png"})
	}
	return c, out
}

// mainIcon returns the bytes of the card's main icon among files: the icon
// asset named "main" (else the first icon) with an embeded:// URI whose file
// is present.
func mainIcon(c Card, files map[string][]byte) []byte {
	var first []byte
	for _, a := range c.Assets {
		if a.Type != "icon" {
			continue
		}
		p, ok := embeddedPath(a.URI)
		if !ok {
			continue
		}
		b, ok := files[p]
		if !ok {
			continue
		}
		if a.Name == "main" {
			return b
		}
		if first == nil {
			first = b
		}
	}
	return first
}
