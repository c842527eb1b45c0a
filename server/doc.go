// Package server implements the doorstep.v1 gRPC services.
//
// Handlers are thin: they validate and normalise what the caller sent,
// call the store, and map what went wrong to a gRPC status. This is the
// only package that decides codes and what a caller is told; errors from
// below are wrapped Go errors, and internal details never reach a caller.
// Every error follows AIP-193: a google.rpc.ErrorInfo with a stable reason,
// and for INVALID_ARGUMENT a google.rpc.BadRequest naming every bad field.
//
// Logs carry the method, code and duration of each call, never what was
// sent: no names, phone numbers, addresses or notes. Metrics (WithMetrics)
// go further: their labels are words from fixed lists (a method, a code,
// an outcome), and the server counts only when it is given them.
package server
