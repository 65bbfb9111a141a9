// Package talk runs real-time voice conversations with agents: one
// Session per WebRTC call. A session listens (Opus from the browser,
// decoded to 16 kHz by voice/rtc), finds where the user's turns start and
// end (voice/listen), transcribes them (voice/asr), has the agent answer
// through the roleplay engine (agents/chat), cuts the reply into sentences
// (agents/sentence), speaks them with the agent's voice on the voice
// workers (voice) and plays them on the call's outbound track, paced in
// real time. Every turn is stored with what the user said, what the agent
// said aloud and the latency of each stage, and its audio is metered.
//
// # Turn-taking
//
// While the agent speaks, the user starting to talk pauses the agent's
// audio at once (at the next 20 ms frame after the detector's onset).
// When that utterance ends it is transcribed: a short backchannel ("yeah",
// "mm-hmm", "ok": Config.Backchannels), or nothing recognisable, resumes
// the reply where it paused; anything else interrupts it. Interrupting
// cancels the language model and speech synthesis streams, stores the
// reply as interrupted with what was actually said (the sentences sent in
// full plus the share of the words of the sentence cut, in proportion to
// its audio sent) and answers the new utterance. A typed message
// interrupts at once.
//
// # Data channel
//
// The browser opens one data channel labelled "events". Messages are JSON
// objects with a "type". From the server:
//
//	{"type":"session","session_id","conversation_id","agent":{"id","name"}}
//	{"type":"state","state":"listening"|"hearing"|"thinking"|"speaking"|"paused"}
//	{"type":"user","turn_id","text","final"}          partial, then final transcript
//	{"type":"agent","turn_id","delta"}                reply text as it is made
//	{"type":"sentence","turn_id","index","text"}      a sentence whose audio starts now
//	{"type":"turn","turn_id","interrupted","said","user_message_id","message_id","latency":{...}}
//	{"type":"backchannel","text"}                     heard, did not interrupt
//	{"type":"error","code","message"}                 a turn failed; the session goes on
//	{"type":"bye","reason":"hangup"|"idle"|"ice_failed"|"shutdown"|"too_long"}
//
// From the browser: {"type":"hangup"} and {"type":"text","text"} (a typed
// turn, answered by voice).
//
// talk may import agents, voice and their subpackages; never api.
package talk
