// Package bus owns Timbre's messaging: the NATS connection (an embedded
// nats-server by default, an external NATS with JetStream when a URL is
// configured), durable job queues on JetStream, and the request → streamed
// reply protocol that callers use to talk to workers (TTS voices, knowledge
// ingestion).
//
// bus imports only the standard library and the NATS modules
// (github.com/nats-io/nats-server/v2, github.com/nats-io/nats.go). It must not
// import any other Timbre package; domains and cmd import bus, never the
// other way round.
//
// # Jobs
//
// A queue named "ingest" is a work-queue stream JOBS_INGEST bound to the
// subject jobs.ingest, read through one durable consumer shared by every
// process that calls [Queue.Consume]. Queue names are case-insensitive
// (letters, digits, '-' and '_'). Jobs are delivered at least once: a handler
// that returns nil acknowledges the job; an error schedules a redelivery after
// the configured backoff; a job that fails [QueueConfig.MaxAttempts] times, or
// whose handler returns an error wrapped with [Permanent], is copied to the
// dead-letter stream DLQ_INGEST (subject dlq.ingest) and removed from the
// queue. A job whose consumer dies without acknowledging it is redelivered
// after [QueueConfig.AckWait].
//
// Dead letters carry these headers besides the job's own:
//
//	Timbre-Job-ID     the job ID given to Publish
//	Timbre-Error      the last handler error
//	Timbre-Attempts   how many deliveries the job had
//	Timbre-Queue      the queue name
//
// # Streamed replies
//
// A caller ([Bus.RequestStream]) subscribes to a fresh inbox and publishes
// the request to the worker subject with that inbox as reply subject. Workers
// ([Bus.Serve]) share a subject through a queue group, so each request reaches
// one worker. Wire headers:
//
// Request (caller → worker):
//
//	Timbre-Cancel-Subject  subject the worker listens on for a cancel message;
//	                       any message published there cancels the handler's
//	                       context (barge-in)
//	Timbre-Timeout         optional; time left until the caller's deadline when
//	                       the request was sent, as a Go duration ("1.5s"). A
//	                       relative value, as in gRPC, so that caller and worker
//	                       need no synchronised clocks. The worker's handler
//	                       context gets the deadline receipt time + timeout.
//
// Reply (worker → caller's inbox), every message carries:
//
//	Timbre-Kind  heartbeat | chunk | end | error
//	Timbre-Seq   1, 2, 3, … across all kinds of one reply stream
//
// The worker sends a heartbeat as soon as it has subscribed to the cancel
// subject (so the caller knows a cancel will be heard), then heartbeats every
// [Config.StreamHeartbeat] while the handler runs, a chunk (payload = the
// bytes given to [StreamWriter.Send]) per send, and finally exactly one end
// (empty payload) or error (payload = the handler's error text). The caller
// treats a gap or repetition in Timbre-Seq as [ErrSequence], silence longer
// than [Config.StreamIdleTimeout] as [ErrWorkerLost], and the NATS
// no-responders status (503) as [ErrNoResponders].
package bus
