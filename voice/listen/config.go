package listen

import (
	"fmt"
	"math"
	"time"
)

// Defaults of a Config, used for its zero fields.
const (
	DefaultSilence   = 500 * time.Millisecond
	DefaultMinSpeech = 200 * time.Millisecond
	DefaultPreRoll   = 300 * time.Millisecond
	DefaultMaxTurn   = 30 * time.Second
	DefaultThreshold = 0.5
)

// Ranges a Config's durations must lie in (after defaults are applied).
const (
	MinSilence = 2 * Window // a shorter silence could not be told from one quiet window
	MaxSilence = 10 * time.Second
	MaxPreRoll = 2 * time.Second
	MinMaxTurn = time.Second
	MaxMaxTurn = 10 * time.Minute
)

// Thresholds a Config's Threshold must lie in. The model keeps a speech
// stretch going while the probability stays above Threshold−0.15, so a
// threshold at or below 0.15 would never let speech end.
const (
	MinThreshold = 0.2
	MaxThreshold = 0.95
)

// Config tunes a Detector. A zero field takes its default, so Config{} is
// the default configuration; Validate says what is out of range. Durations
// are measured in whole model windows (32 ms): Silence and MaxTurn are
// rounded up to them.
type Config struct {
	// Silence is how long the user must stay silent for the turn to end
	// (default 500 ms, 64 ms–10 s).
	Silence time.Duration
	// MinSpeech is how much speech (in windows the model calls speech) a
	// turn needs: shorter bursts (a cough, a click) end in SpeechDiscarded
	// instead of SpeechEnd (default 200 ms, at most MaxTurn).
	MinSpeech time.Duration
	// PreRoll is how much audio before the detected onset the turn's audio
	// starts with (default 300 ms, at most 2 s): the model notices speech a
	// little after it starts, and a recogniser wants some silence first.
	PreRoll time.Duration
	// MaxTurn is the longest a turn may last: it then ends by force
	// (default 30 s, 1 s–10 min).
	MaxTurn time.Duration
	// Threshold is the speech probability above which a window starts
	// speech (default 0.5, 0.2–0.95); speech goes on while the probability
	// stays above Threshold−0.15.
	Threshold float32
}

// withDefaults is c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Silence == 0 {
		c.Silence = DefaultSilence
	}
	if c.MinSpeech == 0 {
		c.MinSpeech = DefaultMinSpeech
	}
	if c.PreRoll == 0 {
		c.PreRoll = DefaultPreRoll
	}
	if c.MaxTurn == 0 {
		c.MaxTurn = DefaultMaxTurn
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	return c
}

// Validate reports the first value of c (after defaults) that is out of
// range, wrapping ErrConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Silence < MinSilence || c.Silence > MaxSilence:
		return fmt.Errorf("%w: Silence %v outside %v–%v", ErrConfig, c.Silence, MinSilence, MaxSilence)
	case c.MaxTurn < MinMaxTurn || c.MaxTurn > MaxMaxTurn:
		return fmt.Errorf("%w: MaxTurn %v outside %v–%v", ErrConfig, c.MaxTurn, MinMaxTurn, MaxMaxTurn)
	case c.MinSpeech < 0 || c.MinSpeech > c.MaxTurn:
		return fmt.Errorf("%w: MinSpeech %v outside 0–%v (MaxTurn)", ErrConfig, c.MinSpeech, c.MaxTurn)
	case c.PreRoll < 0 || c.PreRoll > MaxPreRoll:
		return fmt.Errorf("%w: PreRoll %v outside 0–%v", ErrConfig, c.PreRoll, MaxPreRoll)
	case math.IsNaN(float64(c.Threshold)) || c.Threshold < MinThreshold || c.Threshold > MaxThreshold:
		return fmt.Errorf("%w: Threshold %v outside %v–%v", ErrConfig, c.Threshold, MinThreshold, MaxThreshold)
	}
	return nil
}
