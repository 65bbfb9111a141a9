package listen

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := []Config{
		{},
		{Silence: MinSilence, MinSpeech: 1, PreRoll: 1, MaxTurn: MinMaxTurn, Threshold: MinThreshold},
		{Silence: MaxSilence, MinSpeech: MaxMaxTurn, PreRoll: MaxPreRoll, MaxTurn: MaxMaxTurn, Threshold: MaxThreshold},
	}
	for _, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := map[string]Config{
		"negative silence":          {Silence: -time.Second},
		"silence below 2 windows":   {Silence: MinSilence - 1},
		"silence too long":          {Silence: MaxSilence + 1},
		"negative min speech":       {MinSpeech: -1},
		"min speech above max turn": {MinSpeech: 3 * time.Second, MaxTurn: 2 * time.Second},
		"negative pre-roll":         {PreRoll: -1},
		"pre-roll too long":         {PreRoll: MaxPreRoll + 1},
		"max turn too short":        {MaxTurn: MinMaxTurn - 1},
		"max turn too long":         {MaxTurn: MaxMaxTurn + 1},
		"negative threshold":        {Threshold: -0.5},
		"threshold too low":         {Threshold: 0.1},
		"threshold too high":        {Threshold: 0.99},
		"threshold NaN":             {Threshold: float32(math.NaN())},
	}
	for name, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s (%+v): %v, want ErrConfig", name, c, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	d := newDetector(t, Config{Silence: 700 * time.Millisecond})
	want := Config{Silence: 700 * time.Millisecond, MinSpeech: DefaultMinSpeech, PreRoll: DefaultPreRoll, MaxTurn: DefaultMaxTurn, Threshold: DefaultThreshold}
	if got := d.Config(); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
}
