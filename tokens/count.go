package tokens

// milli converts a cost in milli-tokens to tokens, rounding half up.
func milli(cost int) int { return (cost + 500) / 1000 }

// Count estimates how many tokens OpenAI's cl100k_base tokenizer gives for
// s. It is linear in len(s) and does not allocate. Text that is not valid
// UTF-8 is counted too (each invalid byte as a symbol). A non-empty s counts
// at least one token. See the package documentation for the measured error.
func Count(s string) int {
	sc := scanner{s: s}
	total := 0
	for sc.i < len(s) {
		_, c, _ := sc.next()
		total += c
	}
	n := milli(total)
	if n == 0 && s != "" {
		n = 1
	}
	return n
}

// Truncate returns the longest prefix of s that Count puts at n tokens or
// fewer and that ends at a word boundary: after a word, a number, a run of
// symbols or of whitespace, or between two letters of a script written
// without spaces (Chinese, Japanese, Thai, …). A word that alone is over n
// tokens is cut inside, at a rune boundary, so that a 10 MB line without
// spaces still yields n tokens. The prefix may stop one whitespace rune
// short of the longest. Truncate returns s when Count(s) <= n and "" when
// n <= 0. It reads only as much of s as the result needs (plus at most n
// tokens' worth) and does not allocate.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	budget := n*1000 + 499 // the largest cost that milli rounds to n
	sc := scanner{s: s}
	cum := 0            // cost of s[:sc.i]
	fit, fitCum := 0, 0 // end of the last whole piece that fits, and the cost up to it
	for sc.i < len(s) {
		start, cont := sc.i, sc.cont
		end, c, whole := sc.next()
		if cum+c <= budget {
			cum += c
			if whole {
				fit, fitCum = end, cum
			}
			continue
		}
		// The block does not fit.
		if sc.spaceless {
			return s[:cutBlock(s, start, end, cont, budget-cum)]
		}
		// Stop before its piece, unless that
		// piece alone is over budget: measure it, but no further than
		// the budget.
		alone := cum - fitCum + c
		for alone <= budget && !whole && sc.i < len(s) {
			_, c2, w2 := sc.next()
			alone += c2
			whole = w2
		}
		if alone <= budget {
			return s[:fit]
		}
		return s[:cutBlock(s, start, end, cont, budget-cum)]
	}
	return s
}

// cutBlock returns the end of the longest rune prefix of the block
// s[start:end] (scanned with continuation state cont) that costs at most
// room; start when none does. A block has at most blockRunes runes.
func cutBlock(s string, start, end, cont, room int) int {
	best := start
	for k := start; k < end; {
		_, m := decode(s, k)
		k += m
		sc := scanner{s: s[:k], i: start, cont: cont}
		c := 0
		for sc.i < k {
			_, x, _ := sc.next()
			c += x
		}
		if c <= room {
			best = k
		}
	}
	return best
}
