package api

// chatSchemas describe the chat and OpenAI-compatible bodies.
func chatSchemas() obj {
	date := obj{"type": "string", "format": "date-time"}
	integer := obj{"type": "integer"}
	boolean := obj{"type": "boolean"}
	nullable := func(o obj) obj { return obj{"anyOf": []obj{o, {"type": "null"}}} }
	usage := obj{"type": "object", "properties": obj{
		"prompt_tokens": integer, "completion_tokens": integer,
		"estimated": obj{"type": "boolean", "description": "counted by Timbre because the provider did not report usage"},
	}}
	timings := obj{"type": "object", "properties": obj{
		"first_token_ms": nullable(integer), "total_ms": integer,
	}}
	model := obj{"type": "object", "properties": obj{
		"provider": str("openai, ollama or anthropic"), "model": str(""),
		"offline": obj{"type": "boolean", "description": "no language model answers: replies quote the agent's knowledge"},
		"reason":  str("why the agent answers offline"),
	}}
	citation := obj{"type": "object", "properties": obj{
		"marker": obj{"type": "integer", "description": "the n of [n] in the reply"}, "chunk_id": str(""), "document_id": str(""),
		"knowledge_base_id": str(""), "title": str(""), "heading_path": arr(obj{"type": "string"}), "page": integer,
		"url": str(""), "start": integer, "end": integer, "text": str("the passage"),
	}}
	message := obj{"type": "object", "properties": obj{
		"id": str(""), "seq": integer, "role": obj{"type": "string", "enum": []string{"user", "assistant"}}, "content": str(""),
		"status": obj{"type": "string", "enum": []string{"streaming", "complete", "stopped", "failed"}},
		"error":  str("why the reply failed"), "offline": boolean, "citations": arr(ref("ChatCitation")),
		"usage": nullable(ref("ChatUsage")), "timings": nullable(ref("ChatTimings")),
		"swipe_index": integer, "swipe_count": obj{"type": "integer", "description": "alternatives of this reply (regenerations)"},
		"created_at": date,
	}}
	conversation := obj{"type": "object", "properties": obj{
		"id": str(""), "agent_id": str(""), "agent_name": str(""), "user_id": str(""), "title": str("from the first message"),
		"message_count": integer, "summary": str("long-term memory of the messages that no longer fit the model's context"),
		"summary_seq": integer, "created_at": date, "updated_at": date,
	}}
	openAIModel := obj{"type": "object", "properties": obj{
		"id": str("the agent's slug"), "object": str("model"), "created": integer, "owned_by": str("the card's creator"),
		"agent_id": str(""), "name": str(""),
	}}
	return obj{
		"ChatUsage":            usage,
		"ChatTimings":          timings,
		"ChatModel":            model,
		"ChatCitation":         citation,
		"ChatMessage":          message,
		"Conversation":         conversation,
		"ConversationInput":    obj{"type": "object", "properties": obj{"greeting": obj{"type": "integer", "description": "0 (default) for first_mes, n for alternate greeting n"}}},
		"ConversationResponse": obj{"type": "object", "properties": obj{"conversation": ref("Conversation"), "greeting": nullable(ref("ChatMessage")), "messages": arr(ref("ChatMessage")), "model": ref("ChatModel")}},
		"ConversationPage":     obj{"type": "object", "properties": obj{"items": arr(ref("Conversation")), "next_cursor": str("empty on the last page")}},
		"MessageInput":         obj{"type": "object", "required": []string{"content"}, "properties": obj{"content": str("the user's message, at most TIMBRE_MAX_MESSAGE_BYTES")}},
		"MessageResponse":      obj{"type": "object", "properties": obj{"message": ref("ChatMessage")}},
		"SwipeInput":           obj{"type": "object", "required": []string{"index"}, "properties": obj{"index": integer}},
		"Turn": obj{"type": "object", "properties": obj{
			"message": ref("ChatMessage"), "user_message": ref("ChatMessage"), "usage": ref("ChatUsage"), "timings": ref("ChatTimings"),
			"offline": boolean, "offline_reason": str(""), "model": ref("ChatModel"),
		}},
		"Voice": obj{"type": "object", "properties": obj{
			"id": str(""), "name": str(""), "language": str("e.g. en_GB"), "gender": str(""),
			"kind": obj{"type": "string", "enum": []string{"builtin", "cloned"}}, "sample_rate": integer, "engine": str("piper"),
			"base_voice": str("cloned: the built-in voice it is synthesised from"), "clip_seconds": obj{"type": "number", "description": "cloned: seconds of speech in the recording"},
			"created_at": str("cloned"), "consent_at": str("cloned: when consent was given"),
			"profile": obj{"type": "object", "description": "cloned: the measured voice", "properties": obj{
				"f0_median_hz": obj{"type": "number"}, "f0_range_semitones": obj{"type": "number"}, "voiced_fraction": obj{"type": "number"},
				"formants_hz": arr(obj{"type": "number"}),
			}},
		}},
		"VoiceList":     obj{"type": "object", "properties": obj{"items": arr(ref("Voice"))}},
		"VoiceCreated":  obj{"type": "object", "properties": obj{"voice": ref("Voice")}},
		"SimilarVoices": obj{"type": "object", "properties": obj{"items": arr(obj{"type": "object", "properties": obj{"voice": ref("Voice"), "distance": obj{"type": "number"}}})}},
		"SpeechRequest": obj{"type": "object", "required": []string{"input"}, "properties": obj{
			"model": str("any (tts-1…); an agent's id or slug lends its voice when voice is empty"), "input": str("at most 4096 characters"),
			"voice": str("a voice id from GET /api/voices"), "response_format": str("wav (default), pcm or opus (Ogg-Opus)"),
			"speed": obj{"type": "number", "description": "0.25–4"}, "sample_rate": obj{"type": "integer", "description": "Timbre: 8000–192000, default 24000"},
		}},
		"RTCSessionRequest": obj{"type": "object", "required": []string{"agent_id", "sdp"}, "properties": obj{
			"agent_id": str(""), "conversation_id": str("continue this conversation (signed in only)"),
			"sdp":         str("the browser's WebRTC offer; it need not wait for ICE gathering to complete"),
			"embed_token": str("instead of signing in: a token from POST /api/agents/{id}/embed-tokens"),
		}},
		"RTCSession": obj{"type": "object", "properties": obj{
			"session_id": str(""), "conversation_id": str(""), "sdp": str("the answer, with the server's ICE candidates"),
		}},
		"EmbedTokenRequest": obj{"type": "object", "properties": obj{
			"end_user": str("your label for the visitor, kept with the usage record"), "ttl_seconds": obj{"type": "integer", "description": "60–86400, default 600"},
		}},
		"EmbedTokenCreated": obj{"type": "object", "properties": obj{
			"token": str("emb_…: shown only here"), "embed_token": obj{"type": "object", "properties": obj{
				"id": str(""), "agent_id": str(""), "end_user": str(""), "expires_at": str(""), "created_at": str(""),
			}},
		}},
		"Transcription":   obj{"type": "object", "properties": obj{"text": str("")}},
		"OpenAIModel":     openAIModel,
		"OpenAIModelList": obj{"type": "object", "properties": obj{"object": str("list"), "data": arr(ref("OpenAIModel"))}},
		"ChatCompletionRequest": obj{"type": "object", "required": []string{"model", "messages"}, "properties": obj{
			"model": str("an agent's id or slug"),
			"messages": arr(obj{"type": "object", "required": []string{"role", "content"}, "properties": obj{
				"role":    obj{"type": "string", "enum": []string{"system", "developer", "user", "assistant"}},
				"content": str("a string, or an array of text parts"),
			}}),
			"stream": boolean, "stream_options": obj{"type": "object", "properties": obj{"include_usage": boolean}},
			"temperature": obj{"type": "number"}, "max_tokens": integer, "max_completion_tokens": integer,
			"stop": str("a string or up to 4 strings"), "user": str("your identifier for the end user, kept with the usage record"),
			"n": obj{"type": "integer", "description": "must be 1"},
		}},
		"ChatCompletion": obj{"type": "object", "properties": obj{
			"id": str(""), "object": str("chat.completion"), "created": integer, "model": str(""), "system_fingerprint": str(""),
			"choices": arr(obj{"type": "object", "properties": obj{
				"index": integer, "message": obj{"type": "object", "properties": obj{"role": str("assistant"), "content": str("")}},
				"finish_reason": str("stop, length or content_filter"),
			}}),
			"usage":     obj{"type": "object", "properties": obj{"prompt_tokens": integer, "completion_tokens": integer, "total_tokens": integer}},
			"offline":   obj{"type": "boolean", "description": "Timbre: the reply quotes the agent's knowledge; no language model answered"},
			"citations": arr(ref("ChatCitation")),
		}},
	}
}
