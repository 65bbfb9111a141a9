package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
)

// Targets of the issue.
const (
	minReduction = 0.5  // each distance at least halved
	maxWERRise   = 10.0 // the clone's WER at most this many points above the base's
)

// report prints the references, the distances and the word error rates,
// and whether each target is met.
func report(w io.Writer, res *results, o options) {
	fmt.Fprintln(w, "References (text A, analysed as an upload: clone.Analyze with the upload limits and the Silero VAD):")
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "speaker\tmade with\trecording\tspeech\tSNR\tF0 median\tF1 / F2 / F3\tnearest base\tshift\twarp\t")
	for _, r := range res.refs {
		if r.rejected != nil {
			fmt.Fprintf(t, "%s\t%s\tREJECTED: %v\t\t\t\t\t\t\t\t\n", r.speaker.name, r.speaker.describe(), r.rejected)
			continue
		}
		p := r.clip.Profile
		fmt.Fprintf(t, "%s\t%s\t%.1f s\t%.1f s\t%.0f dB\t%.0f Hz\t%.0f / %.0f / %.0f Hz\t%s\t%+.1f st\t%.2f\t\n",
			r.speaker.name, r.speaker.describe(), r.clip.Input.Seconds(), r.clip.Speech.Seconds(), r.clip.SNR,
			p.F0Median, p.Formants[0], p.Formants[1], p.Formants[2],
			res.bases[r.base].voice.ID, r.shift, r.warp)
	}
	t.Flush()
	for _, b := range res.bases {
		p := b.profile
		fmt.Fprintf(w, "base %s (profile from the platform's fixed text): F0 median %.0f Hz, F1 / F2 / F3 %.0f / %.0f / %.0f Hz\n",
			b.voice.ID, p.F0Median, p.Formants[0], p.Formants[1], p.Formants[2])
	}
	fmt.Fprintln(w, "(shift: the converter's median pitch shift; warp: its formant ratio)")
	fmt.Fprintln(w)

	var f0Met, mfccMet, werMet, measured, asrMeasured int
	fmt.Fprintf(w, "Similarity to the reference: the base voice reading texts B unconverted and cloned, distances to the\n")
	fmt.Fprintf(w, "reference's profile, median over %d output(s) [clone's min–max]; reduction = 1 − clone ÷ base (target ≥ 50%%):\n", o.runs*o.texts)
	t = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "speaker\tbase\tF0 ref / base / clone\tF0 dist base\tF0 dist clone\tF0 reduction\tMFCC dist base\tMFCC dist clone\tMFCC reduction\tclipped\t")
	for _, r := range res.refs {
		if r.rejected != nil || len(r.outputs) == 0 {
			continue
		}
		measured++
		col := func(f func(output) float64) []float64 {
			var v []float64
			for _, o := range r.outputs {
				v = append(v, f(o))
			}
			return v
		}
		f0b, f0c := col(func(o output) float64 { return o.f0Base }), col(func(o output) float64 { return o.f0Clone })
		mb, mc := col(func(o output) float64 { return o.mfccBase }), col(func(o output) float64 { return o.mfccClone })
		f0Red, mfccRed := reduction(median(f0b), median(f0c)), reduction(median(mb), median(mc))
		if f0Red >= minReduction {
			f0Met++
		}
		if mfccRed >= minReduction {
			mfccMet++
		}
		var clipped, samples int
		for _, o := range r.outputs {
			clipped += o.cloneClipped
			samples += o.cloneSamples
		}
		fmt.Fprintf(t, "%s\t%s\t%.0f / %.0f / %.0f Hz\t%.2f st\t%.2f st [%.2f–%.2f]\t%s\t%.2f\t%.2f [%.2f–%.2f]\t%s\t%.3f%%\t\n",
			r.speaker.name, res.bases[r.base].voice.ID,
			r.clip.Profile.F0Median, median(col(func(o output) float64 { return o.baseF0 })), median(col(func(o output) float64 { return o.cloneF0 })),
			median(f0b), median(f0c), slices.Min(f0c), slices.Max(f0c), verdict(f0Red),
			median(mb), median(mc), slices.Min(mc), slices.Max(mc), verdict(mfccRed),
			100*float64(clipped)/float64(max(samples, 1)))
	}
	t.Flush()
	fmt.Fprintln(w, "(clipped: share of the cloned samples beyond ±1, which a 16-bit or Opus encoder clips)")
	fmt.Fprintln(w)

	if o.asr {
		fmt.Fprintln(w, "Intelligibility: pocketsphinx 0.8 (en-us) word error rate, pooled over the outputs (edits ÷ words);")
		fmt.Fprintln(w, "target: the clone's at most 10 points above the base voice's:")
		t = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(t, "speaker\treference (text A)\tbase\tbase (texts B)\tclone (texts B)\tclone − base\t")
		for _, r := range res.refs {
			if r.rejected != nil {
				continue
			}
			id := res.bases[r.base].voice.ID
			b := res.asrBase[id]
			rise := r.asrClone.rate() - b.rate()
			v := fmt.Sprintf("%+.1f points  MISSED", rise)
			if rise <= maxWERRise {
				v = fmt.Sprintf("%+.1f points  met", rise)
				werMet++
			}
			asrMeasured++
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.speaker.name, werCell(r.asrRef), id, werCell(b), werCell(r.asrClone), v)
		}
		t.Flush()
		fmt.Fprintln(w)
		if o.verbose && len(res.transcripts) > 0 {
			fmt.Fprintln(w, "Transcripts:")
			for _, j := range res.transcripts {
				fmt.Fprintf(w, "  %-34s %5.1f%%  %s\n", j.label, j.errs.rate(), j.hyp)
			}
			fmt.Fprintln(w)
		}
	}

	if o.parts {
		reportParts(w, res, o)
	}
	if o.verbose {
		reportOutputs(w, res)
	}

	rejected := len(res.refs) - measured
	fmt.Fprintf(w, "Targets met: F0 distance halved %d/%d, MFCC distance halved %d/%d", f0Met, measured, mfccMet, measured)
	if o.asr {
		fmt.Fprintf(w, ", WER within 10 points %d/%d", werMet, asrMeasured)
	}
	if rejected > 0 {
		fmt.Fprintf(w, "; %d reference(s) rejected", rejected)
	}
	fmt.Fprintf(w, ". Synthesis, conversion and profiles took %s.\n", res.synthTime.Round(100_000_000))
}

// reportParts sets the whole conversion beside its parts run alone.
func reportParts(w io.Writer, res *results, o options) {
	fmt.Fprintln(w, "The conversion's parts (-parts): toward the base's own profile with only the reference's pitch")
	fmt.Fprintln(w, "statistics (pitch only), with everything but them (timbre only: formant warp and equaliser), or")
	fmt.Fprintln(w, "with only its long-term envelope (equaliser only, no warp); distances to the real reference")
	fmt.Fprintln(w, "(medians), word error rates pooled:")
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "speaker	conversion	F0 dist	MFCC dist	WER	WER − base	")
	for _, r := range res.refs {
		if r.rejected != nil || len(r.outputs) == 0 {
			continue
		}
		baseWER := res.asrBase[res.bases[r.base].voice.ID]
		row := func(name string, f0, mfcc []float64, e wordErrors) {
			wer, rise := "—", "—"
			if o.asr {
				wer, rise = werCell(e), fmt.Sprintf("%+.1f points", e.rate()-baseWER.rate())
			}
			fmt.Fprintf(t, "%s\t%s\t%.2f st\t%.2f\t%s\t%s\t\n", r.speaker.name, name, median(f0), median(mfcc), wer, rise)
		}
		var f0b, mb, f0c, mc []float64
		for _, out := range r.outputs {
			f0b, mb = append(f0b, out.f0Base), append(mb, out.mfccBase)
			f0c, mc = append(f0c, out.f0Clone), append(mc, out.mfccClone)
		}
		row("none (base)", f0b, mb, baseWER)
		for _, p := range r.parts {
			row(p.name, p.f0Dist, p.mfccDist, p.asr)
		}
		row("whole (clone)", f0c, mc, r.asrClone)
	}
	t.Flush()
	fmt.Fprintln(w)
}

// reportOutputs lists every output's figures (-v).
func reportOutputs(w io.Writer, res *results) {
	fmt.Fprintln(w, "Every output: median F0 (Hz) and distances to the reference, base → clone:")
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "speaker	text	run	F0 ref	F0 base → clone	F0 dist	MFCC dist	")
	for _, r := range res.refs {
		for _, out := range r.outputs {
			fmt.Fprintf(t, "%s\tB%d\t%d\t%.0f Hz\t%.0f → %.0f Hz\t%.2f → %.2f st\t%.2f → %.2f\t\n",
				r.speaker.name, out.text+1, out.run+1, r.clip.Profile.F0Median, out.baseF0, out.cloneF0,
				out.f0Base, out.f0Clone, out.mfccBase, out.mfccClone)
		}
	}
	t.Flush()
	fmt.Fprintln(w)
}

// reduction is how much of the base's distance the clone removed: 1 −
// clone ÷ base (NaN when the base is already at the reference).
func reduction(base, cloned float64) float64 {
	if base == 0 {
		return math.NaN()
	}
	return 1 - cloned/base
}

func verdict(red float64) string {
	switch {
	case math.IsNaN(red):
		return "n/a"
	case red >= minReduction:
		return fmt.Sprintf("%.0f%%  met", 100*red)
	}
	return fmt.Sprintf("%.0f%%  MISSED", 100*red)
}

func werCell(e wordErrors) string {
	if e.words == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", e.rate(), e.edits, e.words)
}

// median is the median of xs (the mean of the middle two for an even
// count); NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
