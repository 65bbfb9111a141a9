package rtctest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/timbre-ai/timbre/voice/codec"
)

// mic sends 48 kHz audio as Opus 20 ms frames every 20 ms, and silence
// when nothing is queued, as a browser's microphone track does.
type mic struct {
	track *webrtc.TrackLocalStaticSample
	enc   *codec.OpusEncoder
	mute  chan struct{} // closed by Abandon

	mu     sync.Mutex
	q      []float32
	idleCh chan struct{} // closed while q is empty

	sent                 atomic.Int64
	silence, last, zeros []byte
	pcm                  []float32
}

func newMic(track *webrtc.TrackLocalStaticSample) (*mic, error) {
	enc, err := codec.NewOpusEncoder(48000, 1)
	if err != nil {
		return nil, fmt.Errorf("rtctest: %w", err)
	}
	idle := make(chan struct{})
	close(idle)
	return &mic{track: track, enc: enc, mute: make(chan struct{}), idleCh: idle, pcm: make([]float32, 960)}, nil
}

func (m *mic) queue(samples []float32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.q) == 0 && len(samples) > 0 {
		m.idleCh = make(chan struct{})
	}
	m.q = append(m.q, samples...)
}

func (m *mic) idle() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idleCh
}

// next fills m.pcm with the next frame; false when nothing is queued.
func (m *mic) next() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.q) == 0 {
		return false
	}
	n := copy(m.pcm, m.q)
	clear(m.pcm[n:])
	m.q = m.q[n:]
	if len(m.q) == 0 {
		m.q = nil
		close(m.idleCh)
	}
	return true
}

// run sends a frame every 20 ms on an absolute schedule until stop.
func (m *mic) run(stop <-chan struct{}, start time.Time) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	zero := make([]float32, 960)
	for k := 0; ; k++ {
		timer.Reset(time.Until(start.Add(time.Duration(k) * 20 * time.Millisecond)))
		select {
		case <-stop:
			return
		case <-m.mute:
			return
		case <-timer.C:
		}
		var pkt []byte
		var err error
		switch {
		case m.next():
			pkt, err = m.enc.Encode(nil, m.pcm)
			m.silence, m.last = nil, nil
		case m.silence != nil:
			pkt = m.silence
		default:
			// Encode zeros until the encoder repeats itself, then repeat
			// that packet: what a real encoder sends for silence, free.
			pkt, err = m.enc.Encode(nil, zero)
			if bytes.Equal(pkt, m.last) {
				m.silence = pkt
			}
			m.last = pkt
		}
		if err != nil {
			continue
		}
		if m.track.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}) == nil {
			m.sent.Add(1)
		}
	}
}
