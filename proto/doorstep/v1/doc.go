// Package doorstepv1 is the doorstep.v1 API: the messages and gRPC services
// that buf generates from the .proto files beside this one (see buf.gen.yaml
// at the repository root). Edit the protos, never the generated code; CI
// fails when the two disagree.
package doorstepv1
