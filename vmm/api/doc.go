// Package api is the control API of a detached VM (ember start): an
// HTTP+JSON server on a unix socket in the VM's state directory, wrapping
// a running VM, and the typed client the ember CLI uses. docs/api.md
// documents every endpoint, request, answer and error.
//
// The server never lets a request hurt the VM: a request that does not
// parse, names an unknown endpoint, or asks for an impossible state change
// (pause a paused VM, shut down a paused one) gets a 4xx answer with a
// JSON {"error": "..."} body, and the VM is left as it was.
package api
