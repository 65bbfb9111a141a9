// Package agents owns Timbre's agent model: the agents creators design, their
// character cards, their published versions and the content hashes that
// identify those versions (and that chain anchors).
//
// # Character cards
//
// A [Card] is the creator-facing content of an agent, the union of the
// fields of the Character Card V2 and V3 specifications. Cards come in and go
// out as:
//
//   - V1 JSON (flat name, description, personality, scenario, first_mes,
//     mes_example): import only;
//   - V2 JSON ({"spec":"chara_card_v2","spec_version":"2.0","data":{…}}):
//     [ParseCardJSON] and [EncodeV2]. V2 has no place for the V3-only fields
//     (nickname, creator_notes_multilingual, source, group_only_greetings,
//     creation_date, modification_date, assets, lorebook use_regex and
//     string entry ids), so EncodeV2 drops them; unknown extensions and
//     unknown lorebook keys are kept;
//   - V3 JSON ({"spec":"chara_card_v3","spec_version":"3.0","data":{…}}):
//     [ParseCardJSON] and [EncodeV3], every field;
//   - PNG with a tEXt chunk "chara" (base64 V2 JSON) and/or "ccv3" (base64 V3
//     JSON): [ParseCardPNG] (ccv3 preferred) and [EncodePNG] (writes both);
//   - CHARX, a zip holding card.json (V3) and the asset files its
//     embeded:// URIs point at: [ParseCHARX] and [EncodeCHARX].
//
// [Import] detects which of these it was given. Every parser bounds its input
// (sizes, entry counts, inflated bytes, image dimensions) and answers bad
// input with an error wrapping one of the sentinels in errors.go, never a
// panic. [NormalizeAvatar] turns an uploaded PNG, JPEG or WebP into a bounded,
// metadata-free PNG. [ContentHash] is the SHA-256 of the RFC 8785 canonical
// JSON of a card's V3 form; CONTENT_HASH.md specifies it for third parties.
//
// # Imports
//
// agents may import the standard library, golang.org/x/image, the bus package
// and the database helpers (db); it never imports api or any other package
// that serves HTTP.
package agents
