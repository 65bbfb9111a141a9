package asr

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/cmn.h>

// sphinxbase logs hundreds of INFO lines per decoder to stderr, through one
// process-wide callback. timbre_ps_log drops everything but errors and keeps
// those of the calling thread, so that timbre_ps_new can say why a load
// failed. A load runs in one C call, on one thread, from start to end.
static __thread char timbre_ps_err[1024];

static void timbre_ps_log(void *user, err_lvl_t lvl, const char *fmt, ...) {
	(void)user;
	if (lvl != ERR_ERROR && lvl != ERR_FATAL) {
		return;
	}
	size_t used = strlen(timbre_ps_err);
	if (used + 3 >= sizeof timbre_ps_err) {
		return;
	}
	if (used > 0) {
		strcpy(timbre_ps_err + used, "; ");
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(timbre_ps_err + used, sizeof timbre_ps_err - used, fmt, ap);
	va_end(ap);
	// Messages end in a newline; the Go error does not want it.
	size_t n = strlen(timbre_ps_err);
	while (n > 0 && (timbre_ps_err[n-1] == '\n' || timbre_ps_err[n-1] == ' ')) {
		timbre_ps_err[--n] = '\0';
	}
}

static void timbre_ps_quiet(void) {
	err_set_logfp(NULL); // cmd_ln prints the whole configuration to it

	err_set_callback(timbre_ps_log, NULL);
}

// timbre_ps_new loads a decoder, or returns NULL with sphinxbase's errors in
// errbuf.
static ps_decoder_t *timbre_ps_new(const char *hmm, const char *lm, const char *dict, char *errbuf, size_t n) {
	timbre_ps_err[0] = '\0';
	ps_decoder_t *ps = NULL;
	cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE,
		"-hmm", hmm, "-lm", lm, "-dict", dict, NULL);
	if (config != NULL) {
		ps = ps_init(config); // retains config when it succeeds
		cmd_ln_free_r(config);
	}
	if (ps == NULL) {
		snprintf(errbuf, n, "%s", timbre_ps_err);
	}
	return ps;
}

// timbre_ps_cmn reads (set 0) or writes (set 1) the decoder's live cepstral
// mean estimate, at most n values, and returns its length (0 without CMN).
static int timbre_ps_cmn(ps_decoder_t *ps, mfcc_t *vec, int n, int set) {
	feat_t *feat = ps_get_feat(ps);
	if (feat == NULL || feat->cmn_struct == NULL || feat->cmn_struct->veclen > n) {
		return 0;
	}
	if (set) {
		cmn_live_set(feat->cmn_struct, vec);
	} else {
		cmn_live_get(feat->cmn_struct, vec);
	}
	return feat->cmn_struct->veclen;
}

// timbre_ps_hyp is the best hypothesis so far, or NULL.
static const char *timbre_ps_hyp(ps_decoder_t *ps) {
	int32 score = 0;
	return ps_get_hyp(ps, &score);
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/timbre-ai/timbre/voice/audio"
)

// DefaultPocketsphinxDir is where Debian's pocketsphinx-en-us installs the
// US English model.
const DefaultPocketsphinxDir = "/usr/share/pocketsphinx/model/en-us"

// Files of a pocketsphinx model folder, laid out as Debian installs them.
const (
	psAcoustic = "en-us"
	psLM       = "en-us.lm.bin"
	psDict     = "cmudict-en-us.dict"
)

// psAcousticFiles are the files ps_init reads from the acoustic model
// folder, with the header each begins with ("" for text files checked no
// further). sphinxbase ends the process (E_FATAL) on some of them missing
// or malformed, so Open checks that each is there and starts as it should
// before loading; a file truncated after a good header still gets through.
// The mixture weights come as sendump or as mixture_weights.
var psAcousticFiles = []struct{ name, header string }{
	{"mdef", "BMDF"}, // or a text mdef, which starts with its version, "0.3"
	{"means", "s3\n"},
	{"variances", "s3\n"},
	{"transition_matrices", "s3\n"},
	{"feat.params", ""},
	{"noisedict", ""},
}

// psChunk is how much audio Transcribe decodes between checks of its ctx
// and is the longest a Write spends in C at a time: 1 s at 16 kHz.
const psChunk = modelRate

// quietOnce installs the logging callback, which is process-wide in
// sphinxbase, once for every Recognizer.
var quietOnce sync.Once

// pocketsphinx is the pocketsphinx provider: a pool of decoders sharing
// nothing, each used by one goroutine at a time.
type pocketsphinx struct {
	hmm, lm, dict string
	logger        *slog.Logger

	// slots holds one entry per decoder the pool may have: an idle decoder,
	// or nil for one not loaded yet. Taking an entry is the right to use
	// that decoder; release puts it back.
	slots chan *psDecoder
	// loadMu makes loads one at a time: ps_init touches sphinxbase's
	// process-wide state (its logging, feat.params parsing).
	loadMu sync.Mutex

	mu     sync.Mutex // guards closed; release holds it to put a decoder back or free it
	closed bool
	done   chan struct{} // closed by Close: waiters give up
}

// psDecoder is one loaded decoder and its conversion buffer.
type psDecoder struct {
	ps  *C.ps_decoder_t
	pcm []int16
	// cmn is the cepstral mean estimate the decoder started with (the
	// model's -cmninit). pocketsphinx carries its live estimate from one
	// utterance into the next, which suits one speaker on one microphone;
	// a pool serves many, so each utterance starts from the model's.
	cmn []C.mfcc_t
}

// maxCMN bounds the cepstral vector length (13 in the en-us model).
const maxCMN = 64

func openPocketsphinx(cfg Config, logger *slog.Logger) (*pocketsphinx, error) {
	dir := cfg.ModelDir
	if dir == "" {
		dir = DefaultPocketsphinxDir
	}
	p := &pocketsphinx{
		hmm:    filepath.Join(dir, psAcoustic),
		lm:     filepath.Join(dir, psLM),
		dict:   filepath.Join(dir, psDict),
		logger: logger,
		slots:  make(chan *psDecoder, cfg.Decoders),
		done:   make(chan struct{}),
	}
	if err := p.checkFiles(); err != nil {
		return nil, err
	}
	quietOnce.Do(func() { C.timbre_ps_quiet() })
	// The first decoder loads now, so that a model sphinxbase rejects fails
	// at startup; the others load on first use.
	d, err := p.load()
	if err != nil {
		return nil, err
	}
	p.slots <- d
	for range cfg.Decoders - 1 {
		p.slots <- nil
	}
	return p, nil
}

// checkFiles reports the first model file that is missing, unreadable or
// does not start as its kind of file does.
func (p *pocketsphinx) checkFiles() error {
	type file struct{ path, header string }
	files := []file{{p.lm, ""}, {p.dict, ""}}
	for _, f := range psAcousticFiles {
		files = append(files, file{filepath.Join(p.hmm, f.name), f.header})
	}
	if _, err := os.Stat(filepath.Join(p.hmm, "sendump")); err == nil {
		files = append(files, file{filepath.Join(p.hmm, "sendump"), ""})
	} else {
		files = append(files, file{filepath.Join(p.hmm, "mixture_weights"), "s3\n"})
	}
	for _, f := range files {
		head, err := readHead(f.path, 4)
		if err == nil && f.header != "" && !strings.HasPrefix(head, f.header) && !(f.header == "BMDF" && strings.HasPrefix(head, "0.3")) {
			err = fmt.Errorf("%s does not start as a sphinx %s file", f.path, filepath.Base(f.path))
		}
		if err != nil {
			return fmt.Errorf("asr: pocketsphinx model: %w (install Debian's pocketsphinx-en-us with `make setup`, or fix the model folder): %w", err, ErrNoModel)
		}
	}
	return nil
}

// readHead returns the first n bytes of the regular file at path (fewer
// when it is shorter).
func readHead(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(buf[:m]), nil
}

// load creates a decoder.
func (p *pocketsphinx) load() (*psDecoder, error) {
	p.loadMu.Lock()
	defer p.loadMu.Unlock()
	hmm, lm, dict := C.CString(p.hmm), C.CString(p.lm), C.CString(p.dict)
	defer C.free(unsafe.Pointer(hmm))
	defer C.free(unsafe.Pointer(lm))
	defer C.free(unsafe.Pointer(dict))
	var errbuf [1024]C.char
	start := time.Now()
	ps := C.timbre_ps_new(hmm, lm, dict, &errbuf[0], C.size_t(len(errbuf)))
	if ps == nil {
		msg := C.GoString(&errbuf[0])
		if msg == "" {
			msg = "no reason given"
		}
		return nil, fmt.Errorf("asr: pocketsphinx cannot load the model in %s: %s: %w", filepath.Dir(p.lm), msg, ErrNoModel)
	}
	d := &psDecoder{ps: ps, cmn: make([]C.mfcc_t, maxCMN)}
	d.cmn = d.cmn[:C.timbre_ps_cmn(ps, &d.cmn[0], maxCMN, 0)]
	p.logger.Info("asr: pocketsphinx decoder loaded", "model", filepath.Dir(p.lm), "load_ms", time.Since(start).Milliseconds())
	return d, nil
}

// acquire takes a decoder, loading it if it is the first use of its slot.
// With wait false it returns ErrBusy rather than wait.
func (p *pocketsphinx) acquire(ctx context.Context, wait bool) (*psDecoder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var d *psDecoder
	if wait {
		select {
		case d = <-p.slots:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.done:
			return nil, ErrClosed
		}
	} else {
		select {
		case d = <-p.slots:
		case <-p.done:
			return nil, ErrClosed
		default:
			return nil, ErrBusy
		}
	}
	if d == nil {
		var err error
		if d, err = p.load(); err != nil {
			p.release(nil)
			return nil, err
		}
	}
	if p.isClosed() {
		p.release(d)
		return nil, ErrClosed
	}
	return d, nil
}

func (p *pocketsphinx) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// release gives back a slot taken by acquire, freeing its decoder instead
// once the Recognizer is closed.
func (p *pocketsphinx) release(d *psDecoder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		d.free()
		return
	}
	p.slots <- d // never blocks: each slot is taken once and given back once
}

func (d *psDecoder) free() {
	if d != nil && d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// Name implements Recognizer.
func (p *pocketsphinx) Name() string { return "pocketsphinx/en-us" }

// Close frees the idle decoders now and the busy ones when their Stream or
// Transcribe gives them back.
func (p *pocketsphinx) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.done)
	for {
		select {
		case d := <-p.slots:
			d.free()
		default:
			return nil
		}
	}
}

// Transcribe implements Recognizer. It decodes the utterance in 1 s pieces
// and stops between two of them when ctx ends.
func (p *pocketsphinx) Transcribe(ctx context.Context, samples []float32, rate int) (Result, error) {
	if p.isClosed() {
		return Result{}, ErrClosed
	}
	in, err := prepare(samples, rate)
	if err != nil {
		return Result{}, err
	}
	res := Result{Audio: duration(len(samples), rate)}
	if len(in) == 0 {
		return res, nil
	}
	d, err := p.acquire(ctx, true)
	if err != nil {
		return Result{}, err
	}
	defer p.release(d)
	if err := d.start(); err != nil {
		return Result{}, err
	}
	for len(in) > 0 {
		if err := ctx.Err(); err != nil {
			d.end()
			return Result{}, err
		}
		n := min(len(in), psChunk)
		if err := d.process(in[:n]); err != nil {
			d.end()
			return Result{}, err
		}
		in = in[n:]
	}
	if err := d.end(); err != nil {
		return Result{}, err
	}
	res.Text = d.hyp()
	return res, nil
}

// NewStream implements Streamer.
func (p *pocketsphinx) NewStream(ctx context.Context, rate int) (Stream, error) {
	if p.isClosed() {
		return nil, ErrClosed
	}
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	var rs *audio.Resampler
	if rate != modelRate {
		var err error
		if rs, err = audio.NewResampler(rate, modelRate, 1, audio.QualityDefault); err != nil {
			return nil, fmt.Errorf("asr: resample %d → %d Hz: %w", rate, modelRate, err)
		}
	}
	d, err := p.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	if err := d.start(); err != nil {
		p.release(d)
		return nil, err
	}
	return &psStream{p: p, ctx: ctx, d: d, rs: rs, rate: rate}, nil
}

func (d *psDecoder) start() error {
	if len(d.cmn) > 0 {
		C.timbre_ps_cmn(d.ps, &d.cmn[0], C.int(len(d.cmn)), 1)
	}
	if C.ps_start_utt(d.ps) < 0 {
		return errors.New("asr: pocketsphinx: cannot start an utterance")
	}
	return nil
}

// process decodes samples at modelRate, continuing the utterance.
func (d *psDecoder) process(samples []float32) error {
	if len(samples) == 0 {
		return nil
	}
	d.pcm, _ = audio.AppendInt16(d.pcm[:0], samples) // clipping is harmless to recognition
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&d.pcm[0])), C.size_t(len(d.pcm)), 0, 0) < 0 {
		return errors.New("asr: pocketsphinx: decoding failed")
	}
	return nil
}

func (d *psDecoder) end() error {
	if C.ps_end_utt(d.ps) < 0 {
		return errors.New("asr: pocketsphinx: cannot end the utterance")
	}
	return nil
}

// hyp is the best hypothesis, trimmed; "" when there is none.
func (d *psDecoder) hyp() string {
	h := C.timbre_ps_hyp(d.ps)
	if h == nil {
		return ""
	}
	return strings.TrimSpace(C.GoString(h))
}

// psStream is a pocketsphinx utterance decoded as it arrives.
type psStream struct {
	p    *pocketsphinx
	ctx  context.Context
	rate int

	mu      sync.Mutex
	d       *psDecoder       // nil once finished or closed
	rs      *audio.Resampler // nil when the input is at modelRate
	buf     []float32        // resampled input
	n       int              // input samples so far
	frames  int              // decoder frames when partial was computed
	partial string
}

// Write implements Stream. Samples it rejects (a NaN, too much audio) are
// not decoded, and the Stream stays usable.
func (s *psStream) Write(samples []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d == nil {
		return ErrClosed
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := checkSamples(samples, s.n); err != nil {
		return err
	}
	if err := checkLength(s.n+len(samples), s.rate); err != nil {
		return err
	}
	in := samples
	if s.rs != nil {
		var err error
		if s.buf, err = s.rs.Process(s.buf[:0], samples); err != nil {
			return fmt.Errorf("asr: resample: %w", err)
		}
		in = s.buf
	}
	for len(in) > 0 {
		n := min(len(in), psChunk)
		if err := s.d.process(in[:n]); err != nil {
			return err
		}
		in = in[n:]
	}
	s.n += len(samples)
	return nil
}

// Partial implements Stream. It asks the decoder only when it has decoded
// more frames since the last call.
func (s *psStream) Partial() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d == nil {
		return s.partial
	}
	if f := int(C.ps_get_n_frames(s.d.ps)); f != s.frames {
		s.frames = f
		s.partial = s.d.hyp()
	}
	return s.partial
}

// Finish implements Stream.
func (s *psStream) Finish() (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d == nil {
		return Result{}, ErrClosed
	}
	d := s.d
	s.d = nil
	defer s.p.release(d)
	if err := s.ctx.Err(); err != nil {
		d.end()
		return Result{}, err
	}
	if s.rs != nil {
		if err := d.process(s.rs.Flush(s.buf[:0])); err != nil {
			d.end()
			return Result{}, err
		}
	}
	if err := d.end(); err != nil {
		return Result{}, err
	}
	s.partial = d.hyp()
	return Result{Text: s.partial, Audio: duration(s.n, s.rate)}, nil
}

// Close implements Stream.
func (s *psStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d == nil {
		return nil
	}
	s.d.end() // the next utterance starts afresh whatever this one left
	s.p.release(s.d)
	s.d = nil
	return nil
}

var _ Streamer = (*pocketsphinx)(nil)
