package sentence

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// splitCase is a text and the sentences it must give.
type splitCase struct {
	name string
	in   string
	want []string
}

// splitCases is shared with the streaming tests: every case must also come
// out the same however it is chopped.
var splitCases = []splitCase{
	// Plain sentences.
	{"empty", "", nil},
	{"only whitespace", "  \n\n \t ", nil},
	{"one without terminator", "Hello there", []string{"Hello there"}},
	{"three kinds", "Hello there. How are you? I'm fine!", []string{"Hello there.", "How are you?", "I'm fine!"}},
	{"runs of terminators", "Really?! Yes!!! No way?", []string{"Really?!", "Yes!!!", "No way?"}},
	{"digit starts next", "What? 3 people came.", []string{"What?", "3 people came."}},
	{"collapses whitespace", "Too   many\t\tspaces.   Next  one.", []string{"Too many spaces.", "Next one."}},
	{"interrobang", "You did what‽ Wow.", []string{"You did what‽", "Wow."}},

	// Abbreviations.
	{"titles", "Dr. Jones and Prof. Lee met Mr. Smith at St. Mary's. They talked.",
		[]string{"Dr. Jones and Prof. Lee met Mr. Smith at St. Mary's.", "They talked."}},
	{"mrs ms vs", "Mrs. Brown vs. Ms. Green. Round two.", []string{"Mrs. Brown vs. Ms. Green.", "Round two."}},
	{"e.g. and i.e.", "Use fruit, e.g. Apples or pears, i.e. Anything sweet. Done.",
		[]string{"Use fruit, e.g. Apples or pears, i.e. Anything sweet.", "Done."}},
	{"e.g. with comma", "Some fruit (e.g., apples) is fine. Yes.", []string{"Some fruit (e.g., apples) is fine.", "Yes."}},
	{"initials", "J. R. R. Tolkien wrote it. He was British.", []string{"J. R. R. Tolkien wrote it.", "He was British."}},
	{"pronoun I is no initial", "So did I. Then we left.", []string{"So did I.", "Then we left."}},
	{"dotted acronyms", "The U.S. Army is large. The U.K. is small.", []string{"The U.S. Army is large.", "The U.K. is small."}},
	{"acronym before a capital does not end", "I lived in the U.S. Then I moved.", []string{"I lived in the U.S. Then I moved."}},
	{"acronym at the end", "She lives in the U.S.", []string{"She lives in the U.S."}},
	{"number words", "See Fig. 3 and No. 5. No. I disagree.", []string{"See Fig. 3 and No. 5.", "No.", "I disagree."}},
	{"approx", "It costs approx. 5 dollars. Cheap.", []string{"It costs approx. 5 dollars.", "Cheap."}},
	{"page", "Read p. 12 first. Then p. 13.", []string{"Read p. 12 first.", "Then p. 13."}},
	{"a.m. and p.m.", "We open at 9 a.m. and close at 5 p.m. Come early.",
		[]string{"We open at 9 a.m. and close at 5 p.m.", "Come early."}},
	{"etc. before a capital ends", "We need apples, pears, etc. The store closes soon.",
		[]string{"We need apples, pears, etc.", "The store closes soon."}},
	{"etc. before lowercase goes on", "Bring snacks, drinks, etc. and a blanket.", []string{"Bring snacks, drinks, etc. and a blanket."}},
	{"etc. at the end", "Bring snacks, drinks, etc.", []string{"Bring snacks, drinks, etc."}},
	{"etc. with comma", "Cats, dogs, etc., are pets. Yes.", []string{"Cats, dogs, etc., are pets.", "Yes."}},
	{"versus", "Roe v. Wade was decided in 1973. It mattered.", []string{"Roe v. Wade was decided in 1973.", "It mattered."}},
	{"jr. before capital", "He met John Smith Jr. Then he left.", []string{"He met John Smith Jr.", "Then he left."}},
	{"title in parentheses", "Ask someone (Dr. Who) now. Bye.", []string{"Ask someone (Dr. Who) now.", "Bye."}},
	{"title at the end", "Call the Dr.", []string{"Call the Dr."}},

	// Numbers, versions, addresses.
	{"decimals", "Pi is 3.14 and e is 2.718. Nice.", []string{"Pi is 3.14 and e is 2.718.", "Nice."}},
	{"version", "Update to v1.2.3 now. Then restart.", []string{"Update to v1.2.3 now.", "Then restart."}},
	{"ip address", "Ping 192.168.0.1. It answers.", []string{"Ping 192.168.0.1.", "It answers."}},
	{"money", "It costs $3. That's cheap.", []string{"It costs $3.", "That's cheap."}},
	{"year", "The year was 1999. Everything changed.", []string{"The year was 1999.", "Everything changed."}},
	{"number then digit", "I counted to 3. 4 came next.", []string{"I counted to 3.", "4 came next."}},
	{"domain and email", "Visit example.com or mail a.b@example.org. Bye.", []string{"Visit example.com or mail a.b@example.org.", "Bye."}},
	{"url", "See https://example.com/a_b?x=1&y=2. Thanks!", []string{"See https://example.com/a_b?x=1&y=2.", "Thanks!"}},
	{"thousands", "About 1,000 people, at 12:30. Wow.", []string{"About 1,000 people, at 12:30.", "Wow."}},

	// Numbered lists written inline.
	{"inline list after colon", "Steps: 1. Mix the flour. 2. Add water.", []string{"Steps: 1. Mix the flour.", "2. Add water."}},
	{"sentence opening with a number", "Done. 1. First things first. Then the rest.", []string{"Done.", "1. First things first.", "Then the rest."}},
	{"list marker opening the message", "1. First things first. Then the rest.", []string{"First things first.", "Then the rest."}},

	// Ellipses.
	{"ellipsis then lowercase", "I think... maybe. Wait… What?", []string{"I think... maybe.", "Wait…", "What?"}},
	{"ellipsis then capital", "Well... I don't know.", []string{"Well...", "I don't know."}},
	{"two dots", "Hmm.. okay.", []string{"Hmm.. okay."}},
	{"ellipsis inside word", "Well...okay then.", []string{"Well...okay then."}},
	{"spaced dots", "Wait. . . what.", []string{"Wait. . . what."}},

	// Quotes and brackets.
	{"quote then lowercase", `"Run!" she said.`, []string{`"Run!" she said.`}},
	{"quote then capital", `He said "Stop." Then he left.`, []string{`He said "Stop."`, "Then he left."}},
	{"curly quotes", "She asked, “Are you sure?” He nodded. “Run!” she said.",
		[]string{"She asked, “Are you sure?”", "He nodded.", "“Run!” she said."}},
	{"single curly quotes", "‘Fine.’ He ran.", []string{"‘Fine.’", "He ran."}},
	{"parenthesis", "(This is an aside.) Next one.", []string{"(This is an aside.)", "Next one."}},
	{"quote opens next", `"Hello." "Hi there."`, []string{`"Hello."`, `"Hi there."`}},
	{"question inside quote goes on", `"Why?" he asked. "Because."`, []string{`"Why?" he asked.`, `"Because."`}},

	// Markdown.
	{"emphasis", "**Bold** and __strong__ and *em* and _em_ and ~~gone~~ text.",
		[]string{"Bold and strong and em and em and gone text."}},
	{"bold italic", "This is ***very*** important.", []string{"This is very important."}},
	{"snake case stays", "Call my_function_name now.", []string{"Call my_function_name now."}},
	{"inline code", "Use `fmt.Println` to print. Done.", []string{"Use fmt.Println to print.", "Done."}},
	{"code fence", "Here is code:\n\n```python\nprint('hi. There')\n```\n\nThat's it.", []string{"Here is code:", "That's it."}},
	{"code fence right after text", "Run this:\n```\nrm -rf /\n```\nCareful.", []string{"Run this:", "Careful."}},
	{"tilde fence", "~~~\ncode. More code.\n~~~\nAfter.", []string{"After."}},
	{"longer fence holds shorter", "````\n```\nstill code.\n```\n````\nOut.", []string{"Out."}},
	{"unclosed fence", "Look:\n```\ncode forever. Yes.", []string{"Look:"}},
	{"indented fence", "- Step:\n  ```sh\n  make\n  ```\n- Done", []string{"Step:", "Done"}},
	{"headings", "# Welcome\nThis is text.\n## Part two\nMore text", []string{"Welcome", "This is text.", "Part two", "More text"}},
	{"hashtag is not a heading", "#1 fan here. Yes.", []string{"#1 fan here.", "Yes."}},
	{"bullets", "Options:\n- Red\n- Green\n* Blue\n+ Yellow", []string{"Options:", "Red", "Green", "Blue", "Yellow"}},
	{"numbered list", "1. Preheat the oven.\n2) Mix flour.\n10. Bake.", []string{"Preheat the oven.", "Mix flour.", "Bake."}},
	{"list with bold", "1. **Step one**: mix.\n2. **Step two**: bake.", []string{"Step one: mix.", "Step two: bake."}},
	{"nested list", "- Fruit\n  - Apples\n  - Pears", []string{"Fruit", "Apples", "Pears"}},
	{"other bullets", "• First\n◦ Second", []string{"First", "Second"}},
	{"table", "| Name | Age |\n|------|-----|\n| Alice | 30 |\n| Bob | |\n\nAfter.", []string{"Name, Age", "Alice, 30", "Bob", "After."}},
	{"pipe outside a table", "Use a | b here.", []string{"Use a | b here."}},
	{"task list", "- [ ] buy milk\n- [x] walk dog", []string{"buy milk", "walk dog"}},
	{"blockquote", "> To be or not to be.\n> That is the question.", []string{"To be or not to be.", "That is the question."}},
	{"soft line break", "Line one\nline two continues.", []string{"Line one line two continues."}},
	{"paragraph break", "First paragraph without end\n\nSecond paragraph", []string{"First paragraph without end", "Second paragraph"}},
	{"crlf", "Hello\r\nWorld.\r\n\r\nNext.", []string{"Hello World.", "Next."}},
	{"rule", "Part one.\n\n---\n\nPart two.", []string{"Part one.", "Part two."}},
	{"setext heading", "Title\n=====\nBody text.", []string{"Title", "Body text."}},
	{"dash is not a bullet", "-5 degrees outside. Brr.", []string{"-5 degrees outside.", "Brr."}},
	{"link", "Read [the docs](https://example.com/docs) first. Then ask.", []string{"Read the docs first.", "Then ask."}},
	{"link with parentheses in address", "See [Go](https://en.wikipedia.org/wiki/Go_(language)). Done.",
		[]string{"See Go.", "Done."}},
	{"link text with emphasis", "Read [**this**](x.md).", []string{"Read this."}},
	{"image", "Look ![a cat](cat.png) here.", []string{"Look here."}},
	{"bracket text stays", "Keep [laughs] brackets.", []string{"Keep [laughs] brackets."}},
	{"unclosed bracket", "An [open bracket. Next.", []string{"An [open bracket.", "Next."}},
	{"html", "<p>Hello <b>world</b>.</p><p>Bye.</p>", []string{"Hello world.", "Bye."}},
	{"html comment", "Hi <!-- secret. Stuff. --> there.", []string{"Hi there."}},
	{"not html", "If x<y and y>z, stop. I <3 you.", []string{"If x<y and y>z, stop.", "I <3 you."}},
	{"escapes", `Not \[a link\] and 2\. Fine.`, []string{"Not [a link] and 2.", "Fine."}},

	// Roleplay actions.
	{"action at start", "*smiles warmly* Hello there.", []string{"Hello there."}},
	{"one-word action at start", "*nods* Sure thing.", []string{"Sure thing."}},
	{"emphasis mid-sentence", "That is *really* important.", []string{"That is really important."}},
	{"action after a sentence", "Okay. *sighs* Fine, let's go.", []string{"Okay.", "Fine, let's go."}},
	{"action with spaces mid-sentence", "I waited *for a long time* before answering.", []string{"I waited before answering."}},
	{"action then lowercase", "Oh *laughs softly* that's funny.", []string{"Oh that's funny."}},
	{"action before punctuation", "Well *shrugs slowly*. Maybe.", []string{"Well.", "Maybe."}},
	{"one word mid-sentence is emphasis", "Well *shrugs*. Maybe.", []string{"Well shrugs.", "Maybe."}},
	{"action on its own line", "Hello.\n*waves*\nGoodbye.", []string{"Hello.", "Goodbye."}},
	{"only an action", "*smiles*", nil},
	{"unclosed star", "*unclosed emphasis here.\nNext line.", []string{"unclosed emphasis here.", "Next line."}},
	{"bold then emphasis", "**Note:** *this* matters.", []string{"Note: this matters."}},
	{"multiplication", "What's 5 * 3? It's 15.", []string{"What's 5 × 3?", "It's 15."}},
	{"intraword star", "a*b*c is odd.", []string{"abc is odd."}},
	{"nested bold in action", "*grins **widely*** Yes.", []string{"Yes."}},

	// Citations.
	{"citations", "Paris is the capital [1]. It is big [2][3].", []string{"Paris is the capital.", "It is big."}},
	{"citation lists and footnotes", "Source [^1] says so [1, 2] and [3-5].", []string{"Source says so and."}},
	{"citation glued to terminator", "That's amazing![1] Next.", []string{"That's amazing!", "Next."}},
	{"citation link", "Perplexity style[1](https://x.com) text.", []string{"Perplexity style text."}},

	// Emoji.
	{"emoji", "Great job! 🎉🎉 Keep going 👍🏽.", []string{"Great job!", "Keep going."}},
	{"zwj families and flags", "Family: 👨‍👩‍👧‍👦 and flags 🇫🇷🏴󠁧󠁢󠁳󠁣󠁴󠁿 here.", []string{"Family: and flags here."}},
	{"keycaps and selectors", "Press 1️⃣ now ❤️ ok #️⃣.", []string{"Press now ok."}},
	{"emoji only", "😀🎉", nil},
	{"emoji and punctuation only", "😀! 👍.", nil},
	{"symbols kept", "© 2024 Acme™. Done.", []string{"© 2024 Acme™.", "Done."}},
	{"joiner in Indic script stays", "क्‍ष is a letter.", []string{"क्‍ष is a letter."}},
	{"invisible characters", "Zero\u200bwidth\u00ad here.", []string{"Zerowidth here."}},

	// CJK.
	{"chinese", "你好。我很好！你呢？", []string{"你好。", "我很好！", "你呢？"}},
	{"japanese", "これはペンです。あれは本です。", []string{"これはペンです。", "あれは本です。"}},
	{"japanese quote", "「はい。」と彼は言った。次へ。", []string{"「はい。」と彼は言った。", "次へ。"}},
	{"latin then cjk", "Hello.你好。", []string{"Hello.", "你好。"}},
	{"mixed", "中文句子。 English sentence. 下一句。", []string{"中文句子。", "English sentence.", "下一句。"}},

	// Other scripts.
	{"cyrillic", "Привет. как дела? Хорошо.", []string{"Привет. как дела?", "Хорошо."}},
	{"german", "Dr. Müller kommt. Er ist müde.", []string{"Dr. Müller kommt.", "Er ist müde."}},

	// Invalid input.
	{"invalid utf-8", "Bad \xff\xfe bytes. Good.", []string{"Bad bytes.", "Good."}},
	{"truncated rune at end", "Cut short \xe2\x82", []string{"Cut short"}},
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Split(tc.in), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Split(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestSpeakable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"joins sentences", "Hello.\n\nWorld!", "Hello. World!"},
		{"markdown", "## Plan\n\n1. **Buy** `milk`\n2. Call [Bob](tel:123) 📞", "Plan Buy milk Call Bob"},
		{"action and emoji", "*waves* Hi 👋 there [1].", "Hi there."},
		{"nothing left", "```\ncode\n```\n😀", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Speakable(tc.in); got != tc.want {
				t.Errorf("Speakable(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestSpeakableMatchesSentences checks that the sentences of a text, put
// together, are its speakable form up to the whitespace between them.
func TestSpeakableMatchesSentences(t *testing.T) {
	t.Parallel()
	for _, tc := range splitCases {
		got := strings.Join(tc.want, "")
		want := strings.Join(strings.Fields(Speakable(tc.in)), "")
		if strings.Join(strings.Fields(got), "") != want {
			t.Errorf("%s: sentences %q do not make up Speakable %q", tc.name, tc.want, want)
		}
	}
}

func TestMaxLen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		maxLen int
		in     string
		want   []string
	}{
		{
			name:   "clause boundary in second half",
			maxLen: 40,
			in:     "one two three four five, six seven eight nine ten eleven twelve.",
			want:   []string{"one two three four five,", "six seven eight nine ten eleven twelve."},
		},
		{
			name:   "space when no clause boundary",
			maxLen: 20,
			in:     "aaaa bbbb cccc dddd eeee ffff.",
			want:   []string{"aaaa bbbb cccc dddd", "eeee ffff."},
		},
		{
			name:   "dash",
			maxLen: 20,
			in:     "abcdefghijkl—mnopqrstuvwxyz and more",
			want:   []string{"abcdefghijkl—", "mnopqrstuvwxyz and", "more"},
		},
		{
			name:   "hard split without spaces",
			maxLen: 20,
			in:     strings.Repeat("x", 45),
			want:   []string{strings.Repeat("x", 20), strings.Repeat("x", 20), strings.Repeat("x", 5)},
		},
		{
			name:   "cjk clause mark",
			maxLen: 20,
			in:     "一二三四五六七八九十一二，三四五六七八九十一二三四。",
			want:   []string{"一二三四五六七八九十一二，", "三四五六七八九十一二三四。"},
		},
		{
			name:   "comma in a number is no boundary",
			maxLen: 20,
			in:     "I counted 1,000,000 sheep in total.",
			want:   []string{"I counted 1,000,000", "sheep in total."},
		},
		{
			name:   "below the minimum counts as the minimum",
			maxLen: 3,
			in:     "aaaa bbbb cccc dddd eeee ffff.",
			want:   []string{"aaaa bbbb cccc dddd", "eeee ffff."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := New(Options{MaxLen: tc.maxLen})
			got := append(g.Push(tc.in), g.Flush()...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultMaxLen(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word, ", 200)
	for _, s := range Split(long) {
		if n := len([]rune(s)); n > DefaultMaxLen {
			t.Fatalf("sentence of %d runes, want at most %d: %q", n, DefaultMaxLen, s)
		}
	}
}
