// Package agentproto is the wire protocol between ember (the host) and
// ember-agent (in the guest), over one vsock stream per request.
//
// A stream is a sequence of frames: a type byte, a big-endian uint32
// payload length, the payload (at most MaxPayload bytes). Requests and
// control frames carry JSON (at most MaxJSON bytes, decoded strictly:
// unknown fields are errors); data frames carry raw bytes (senders use
// ChunkSize). The host's first frame is the request; then:
//
//	exec:       host  E, then any of i c s z
//	            agent o e (as the command writes), then x; closes
//	read file:  host  R
//	            agent f, d..., n; closes (or ! instead, at any point)
//	write file: host  W, then (after the agent's k) d..., n
//	            agent k (temporary file made), then k (renamed into place) or !
//
// A peer that sends a frame that is too large, of a type the exchange
// does not expect, or malformed JSON gets a TypeError frame and the
// connection ends. The host closes the connection once it has read the
// last frame (x, n, the second k, or !); the agent closes its end only
// then, or 10 s after its last frame: a guest closing first could lose the
// end of what it sent (close(2) shuts both directions of a vsock
// connection, and a device may drop what it still buffers). The host
// dropping the connection during an exec kills the command (SIGKILL to its
// process group).
package agentproto
