// Package worker runs speech synthesis in voice workers reached over NATS.
// A [Worker] serves a [tts.Engine] on the bus; a [Client] is a [tts.Engine]
// that sends each request to a worker of the pool. `timbre serve` runs
// workers in process by default; `timbre worker` processes on other machines
// (CPU or GPU) join the same pool with nothing else changed.
//
// worker may import the standard library, bus, voice/tts, voice/audio,
// voice/clone, the NATS client and the Prometheus client. It never imports api, the database
// or the realtime pipeline.
//
// # Subjects
//
// With the default prefixes:
//
//	voice.tts.synth           requests to any worker: queue group "tts", so
//	                          each request reaches one worker
//	voice.tts.synth.<id>      requests to the worker <id> only
//	voice.workers             adverts, published by every worker
//	voice.workers.discover    discovery: every worker answers a request here
//	                          with its advert (a plain NATS request, no queue
//	                          group, so all of them answer)
//
// Requests and their replies follow the bus's streamed reply protocol
// ([bus.Bus.RequestStream], [bus.Bus.Serve]): heartbeats, sequence numbers,
// the cancel subject (barge-in) and the relative deadline header come from
// there, and so does the end marker.
//
// # Request
//
// The request payload is JSON:
//
//	{"protocol": 1, "voice": "jenny", "text": "Hello there.", "speed": 1}
//
// protocol is [Protocol]; a worker answers any other value, and anything it
// cannot parse, with a bad_request error. A request for a cloned voice adds
// "convert": {"from": <base profile>, "to": <cloned profile>} (clone.Profile
// JSON): the worker converts the voice with one clone.Converter across the
// sentences and sends the converter's tail as a last chunk without text.
// Only workers whose advert lists the feature "convert" get such requests
// ([Client.StreamConverted], [Client.CanConvert]); a caller with no such
// worker converts by itself ([Converted]).
//
// # Reply chunks
//
// Each sentence's audio travels as one or more binary frames, one per bus
// chunk, little-endian:
//
//	offset size
//	0      1    frame version, 1
//	1      1    sample format: 1 = PCM 16-bit signed, 2 = float32
//	2      1    flags: bit 0 set = more frames of this sentence follow;
//	            the other bits are 0
//	3      1    reserved, 0
//	4      4    sentence number (tts.Chunk.Seq), uint32
//	8      4    sample rate in Hz, uint32, 1 to 1,000,000
//	12     4    text length in bytes, uint32
//	16     4    sample count, uint32
//	20     …    text (UTF-8; only in a sentence's first frame)
//	…      …    samples, mono, count × 2 or count × 4 bytes
//
// The frame length must equal the header's account of it exactly; anything
// else is [ErrProtocol], never a panic. A sentence is split across frames
// only when its audio exceeds [Config.MaxFrameBytes] (NATS payloads are
// bounded, 1 MiB by default); the client joins the frames back into one
// tts.Chunk, so a remote engine delivers the same chunks as a local one.
//
// Workers send PCM16 by default: half the bytes of float32 on the wire and in
// each message (a sentence of 23 s still fits one default NATS payload),
// while the quantisation noise (−96 dBFS) is far below a TTS voice's own, and
// every output Timbre produces (WAV, Opus) is 16-bit anyway. A worker set to
// [FormatFloat32] is lossless.
//
// # Errors
//
// A failed request ends with the bus's error marker whose text is JSON:
//
//	{"code": "busy", "message": "worker gpu-1 has no free slot (2 in use)"}
//
// Codes: busy and stopping (the worker took nothing on: the client tries
// another worker; it reports [ErrNoWorkers] when it runs out of attempts,
// and [ErrBusy] when no slot freed within [ClientConfig.QueueWait]), unknown_voice, no_text, bad_speed (the caller's fault:
// mapped back to [tts.ErrUnknownVoice], [tts.ErrNoText], [tts.ErrBadSpeed] and
// never retried), bad_request (a malformed request: [ErrProtocol]), deadline
// (the request's deadline passed: [context.DeadlineExceeded]), canceled (the
// worker cancelled on its own, shutting down) and engine (the engine
// failed); the last two, and error text that is not this JSON (the bus's
// own, a panic's), are [tts.ErrEngine] to the caller.
//
// # Concurrency and routing
//
// A worker runs at most [Config.Slots] syntheses at once. A request that
// finds every slot taken is answered at once with a busy error, before any
// audio: it never waits in line behind a slow worker. (Leaving the queue
// group while full was the other way; it would lose requests already on
// their way to the worker, and every rejoin would race with them.)
//
// A client routes each request itself: to the live worker that speaks the
// voice and has the most free slots by its latest advert, less the
// requests this client has running there. Workers advertise at once when
// they fill up and when a slot frees after they were full, besides every
// [Config.AdvertiseEvery]. Only
// when the client knows no live worker does it use the queue-group subject.
// A request that never started — no responders, busy, stopping, the worker
// lost or failing before the first chunk — is sent again, to another worker
// where it can, up to [ClientConfig.MaxAttempts] sends with a short,
// growing backoff that an advert of free capacity cuts short. Busy replies
// do not count as attempts: a full pool is a queue, so the request keeps
// waiting for a freed slot (workers advertise one at once) for up to
// [ClientConfig.QueueWait], and timbre_tts_queue_depth shows the line.
// Waiting requests are not served in order: whichever asks first after a
// slot frees gets it. Once audio
// has been delivered nothing is retried: the listener already heard it.
//
// # Adverts
//
// Every worker publishes an [Advert] on start, every AdvertiseEvery, when it
// fills up, when a slot frees after it was full, and with leaving set when
// it stops. A client forgets a worker that has not advertised for three of
// its advertised intervals. A client sends a discovery request when it
// starts, so it learns the pool without waiting for the next adverts. An
// advert is JSON:
//
//	{"protocol": 1, "id": "gpu-1", "device": "cuda", "engines": ["piper"],
//	 "voices": [{"id": "jenny", "sample_rate": 22050, …}], "slots": 4,
//	 "free": 3, "load": 0.25, "version": "v0.3.0",
//	 "started_at": "2025-01-02T15:04:05Z", "advertise_every_ms": 1000}
//
// with "leaving": true added when the worker stops.
//
// # Metrics
//
// With a Registerer in the config, a worker counts
// timbre_tts_requests_total{result} (ok or the error code),
// timbre_tts_synthesis_seconds (receipt to last sentence, per accepted
// request), timbre_tts_first_audio_seconds (receipt to first sentence sent),
// timbre_tts_realtime_factor (synthesis time over audio duration, per
// successful request), and the gauges timbre_tts_slots and
// timbre_tts_slots_busy. Workers of one process share these series.
//
// A client counts timbre_tts_client_requests_total{result},
// timbre_tts_client_retries_total{reason},
// timbre_tts_client_first_audio_seconds (Stream call to first sentence
// delivered, retries and the bus included), and the gauges
// timbre_tts_workers (live workers, leaving ones excluded),
// timbre_tts_free_slots (the sum of their advertised free slots) and
// timbre_tts_queue_depth: the Stream calls of this client that have not yet
// delivered their first sentence, whether waiting to be sent again or
// waiting for a worker to finish that sentence. It is what an autoscaler
// should watch: it grows when the pool is short of slots, and each voice
// turn waits on its first sentence.
package worker
