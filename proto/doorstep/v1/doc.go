// Package doorstepv1 is the doorstep.v1 API: the messages and gRPC services
// that buf generates from the .proto files beside this one (see buf.gen.yaml
// at the repository root). Edit the protos, never the generated code; CI
// fails when the two disagree.
//
// Two files here are written by hand: this one, and codec.go, the gRPC
// codec the server and the client package use, which encodes through the
// generated *_vtproto.pb.go code instead of protobuf-go's reflection.
package doorstepv1
