package worker

import (
	"context"
	"fmt"

	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Converted synthesises req with engine and converts it toward conv.To:
// one converter across the sentences (so the joins have no seams), its
// tail a last chunk without text. Workers run it for StreamConverted; a
// caller whose engine cannot convert runs it itself.
func Converted(ctx context.Context, engine tts.Engine, req tts.Request, conv *Conversion, onChunk func(tts.Chunk) error) error {
	var c *clone.Converter
	var out []float32
	var last tts.Chunk
	err := engine.Stream(ctx, req, func(ch tts.Chunk) error {
		if c == nil {
			var err error
			if c, err = clone.NewConverter(conv.From, conv.To, ch.SampleRate); err != nil {
				return fmt.Errorf("%w: converter: %w", tts.ErrEngine, err)
			}
		}
		out = c.Process(out[:0], ch.Samples)
		last = ch
		ch.Samples = out
		return onChunk(ch)
	})
	if err != nil || c == nil {
		return err
	}
	last.Seq++
	last.Text = ""
	last.Samples = c.Flush(out[:0])
	return onChunk(last)
}
