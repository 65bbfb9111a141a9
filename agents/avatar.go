package agents

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Avatar limits.
const (
	// MaxAvatarBytes is the largest avatar file NormalizeAvatar accepts.
	MaxAvatarBytes = 8 << 20
	// MaxAvatarSide is the largest width or height, in pixels, of an avatar
	// NormalizeAvatar will decode.
	MaxAvatarSide = 4096
	// AvatarSide is the longest side, in pixels, of a normalized avatar.
	AvatarSide = 1024
)

// avatarCodec decodes one image format.
type avatarCodec struct {
	name         string
	decodeConfig func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
}

// sniffAvatar picks the decoder for data by its magic bytes. The decoders
// are called directly rather than through image.Decode, whose registry
// would accept whatever formats other packages in the binary registered.
func sniffAvatar(data []byte) (avatarCodec, bool) {
	switch {
	case isPNG(data):
		return avatarCodec{"png", png.DecodeConfig, png.Decode}, true
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return avatarCodec{"jpeg", jpeg.DecodeConfig, jpeg.Decode}, true
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return avatarCodec{"webp", webp.DecodeConfig, webp.Decode}, true
	}
	return avatarCodec{}, false
}

// NormalizeAvatar turns an uploaded PNG, JPEG or WebP image into a PNG whose
// longest side is at most AvatarSide pixels (downscaled with Catmull-Rom,
// never upscaled). Re-encoding drops every metadata chunk, card chunks and
// EXIF included (JPEG orientation is not applied). The image's dimensions
// are read from its header before any pixel is decoded, so a small file
// claiming a huge image costs nothing. Errors: ErrTooLarge over
// MaxAvatarBytes, ErrUnsupportedFormat for other formats, ErrImageTooLarge
// for a side over MaxAvatarSide, ErrCorruptImage when it cannot be decoded.
func NormalizeAvatar(data []byte) ([]byte, error) {
	return normalizeImage(data, MaxAvatarBytes)
}

// normalizeImage is NormalizeAvatar with another file size limit: the image
// of an imported card file also carries the card's text chunks, and the file
// was already bounded by the import limits.
func normalizeImage(data []byte, maxBytes int) ([]byte, error) {
	if len(data) > maxBytes {
		return nil, fmt.Errorf("agents: avatar is %d bytes, the limit is %d: %w", len(data), maxBytes, ErrTooLarge)
	}
	codec, ok := sniffAvatar(data)
	if !ok {
		return nil, fmt.Errorf("agents: avatar must be PNG, JPEG or WebP: %w", ErrUnsupportedFormat)
	}
	cfg, err := codec.decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("agents: avatar %s header: %v: %w", codec.name, err, ErrCorruptImage)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("agents: avatar %s is %dx%d: %w", codec.name, cfg.Width, cfg.Height, ErrCorruptImage)
	}
	if cfg.Width > MaxAvatarSide || cfg.Height > MaxAvatarSide {
		return nil, fmt.Errorf("agents: avatar is %dx%d, the limit is %dx%d: %w", cfg.Width, cfg.Height, MaxAvatarSide, MaxAvatarSide, ErrImageTooLarge)
	}
	src, err := codec.decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("agents: decode %s avatar: %v: %w", codec.name, err, ErrCorruptImage)
	}
	img := src
	b := src.Bounds()
	if w, h := b.Dx(), b.Dy(); w > AvatarSide || h > AvatarSide {
		nw, nh := AvatarSide, AvatarSide
		if w >= h {
			nh = max(1, (h*AvatarSide+w/2)/w)
		} else {
			nw = max(1, (w*AvatarSide+h/2)/h)
		}
		dst := image.NewRGBA(image.Rect(0, 0, nw, nh))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		img = dst
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("agents: encode avatar png: %w", err)
	}
	return buf.Bytes(), nil
}
