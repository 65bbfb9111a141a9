package main

// script is what is said in a run.
type script struct {
	// questions are spoken by the clients (Piper's alan), in turn.
	questions []string
	// reply is the fake model's answer in the latency phase.
	reply string
	// description is the agent's card description: what offline mode
	// quotes.
	description string
	// story is the fake model's answer in the speaking phase: about 20 s
	// of speech.
	story string
}

var fullScript = script{
	questions: []string{
		"What time does the boat leave in the morning?",
		"How long does the crossing to the island take?",
		"Can I bring my bicycle on the ferry?",
		"Is there a cafe on board the boat?",
		"What should I wear on the deck today?",
	},
	reply:       "The ferry leaves at nine in the morning. The crossing takes forty minutes. Bring a warm coat.",
	description: "{{char}} is the captain of the island ferry. The boat leaves the harbour at nine every morning.",
	story: "Long ago the island had no harbour at all. Fishermen pulled their boats onto the sand every evening. " +
		"One winter a storm broke half of the boats on the rocks. The village decided to build a stone wall into the sea. " +
		"It took eleven summers to finish the wall. Children carried small stones and their parents carried the large ones. " +
		"When it was done the whole village held a feast on the beach.",
}

var quickScript = script{
	questions:   []string{"When does the boat leave?", "How long is the crossing?"},
	reply:       "At nine. It takes forty minutes.",
	description: "A ferry captain.",
	story:       "The ferry leaves at nine. Bring a coat.",
}
