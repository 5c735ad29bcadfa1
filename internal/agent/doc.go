// Package agent is ember-agent's side of the agent protocol
// (internal/agentproto): Handle serves one request on one connection,
// running a command with its input, output, signals and terminal, or
// reading or writing a file. cmd/ember-agent accepts the vsock
// connections; tests use any net.Conn.
package agent
