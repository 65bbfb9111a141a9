package knowledge

import (
	"encoding/json"
)

// subscriberBuffer is how many events a slow subscriber may lag behind
// before further events to it are dropped (progress is cumulative, so a
// dropped event is superseded by the next).
const subscriberBuffer = 64

// publish sends an event to every process's subscribers of its knowledge
// base. Events are best effort: a lost one only delays a progress bar.
func (s *Service) publish(e Event) {
	msg, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := s.events.Notify(string(msg)); err != nil {
		s.log.Debug("knowledge event not sent", "document_id", e.DocumentID, "error", err)
	}
}

// deliver hands an event from the bus to this process's subscribers.
func (s *Service) deliver(msg string) {
	var e Event
	if err := json.Unmarshal([]byte(msg), &e); err != nil {
		s.log.Warn("malformed knowledge event ignored", "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs[e.KBID] {
		select {
		case ch <- e:
		default:
		}
	}
}

// Subscribe returns the progress events of a knowledge base, from every
// process, until cancel is called. The caller must own the base.
func (s *Service) Subscribe(kbID string) (events <-chan Event, cancel func()) {
	ch := make(chan Event, subscriberBuffer)
	s.mu.Lock()
	if s.subs[kbID] == nil {
		s.subs[kbID] = map[chan Event]struct{}{}
	}
	s.subs[kbID][ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs[kbID], ch)
		if len(s.subs[kbID]) == 0 {
			delete(s.subs, kbID)
		}
		s.mu.Unlock()
	}
}
