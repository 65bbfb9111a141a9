package clone

import "math"

// pitchCentre tracks the median F0 of a stream's voiced frames so far, on a
// histogram of log F0 (bins of a twentieth of a semitone from MinF0 to
// MaxF0), seeded with a prior: some frames' weight at the base profile's
// median, which each voiced frame wears down by one frame's worth, so that
// the prior steadies the first voiced frames and is gone after as many.
// Memory and the work per frame are fixed, whatever the stream's length.
type pitchCentre struct {
	counts []float64
	total  float64
	seed   int     // the prior's bin
	prior  float64 // the prior's weight left
}

const centreBinsPerSemitone = 20

func newPitchCentre() *pitchCentre {
	bins := int(math.Ceil(12*math.Log2(MaxF0/MinF0)*centreBinsPerSemitone)) + 1
	return &pitchCentre{counts: make([]float64, bins)}
}

func (p *pitchCentre) bin(f0 float64) int {
	b := int(math.Round(12 * math.Log2(f0/MinF0) * centreBinsPerSemitone))
	return max(0, min(len(p.counts)-1, b))
}

// reset empties the histogram and puts the prior, weight frames at f0.
func (p *pitchCentre) reset(f0, weight float64) {
	clear(p.counts)
	p.seed, p.prior = p.bin(f0), weight
	p.counts[p.seed] = weight
	p.total = weight
}

// add counts one voiced frame at f0 Hz, and takes as much weight off the
// prior: once the stream has had as many voiced frames as the prior
// weighed, the median is the input's alone (a point mass left in the
// histogram would pull the median toward it for good).
func (p *pitchCentre) add(f0 float64) {
	p.counts[p.bin(f0)]++
	p.total++
	if p.prior > 0 {
		d := min(1, p.prior)
		p.prior -= d
		p.counts[p.seed] -= d
		p.total -= d
	}
}

// median is the weighted median of the histogram, in Hz.
func (p *pitchCentre) median() float64 {
	half := p.total / 2
	var sum float64
	b := 0
	for ; b < len(p.counts)-1; b++ {
		sum += p.counts[b]
		if sum >= half {
			break
		}
	}
	return MinF0 * math.Exp2(float64(b)/(12*centreBinsPerSemitone))
}
