package server

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// maskRules says which update_mask paths a resource accepts. Paths are
// top-level fields or one level into a message field ("location.postcode").
type maskRules struct {
	// mutable lists every allowed path; its top-level entries are what "*"
	// and an absent mask range over.
	mutable []string
	// fixed names fields that exist but may not be changed, with why.
	fixed map[string]string
}

// resolveMask turns an update_mask into the list of paths to copy. An
// absent or empty mask means every mutable top-level field set in src
// (AIP-134); "*" means all of them.
func (r maskRules) resolveMask(v *violations, mask *fieldmaskpb.FieldMask, src proto.Message) []string {
	top := make([]string, 0, len(r.mutable))
	for _, p := range r.mutable {
		if !strings.Contains(p, ".") {
			top = append(top, p)
		}
	}
	if len(mask.GetPaths()) == 0 {
		m := src.ProtoReflect()
		var paths []string
		for _, p := range top {
			if m.Has(m.Descriptor().Fields().ByName(protoreflect.Name(p))) {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			v.add("update_mask", "nothing to change: name the fields in update_mask or set them")
		}
		return paths
	}
	var paths []string
	for i, p := range mask.GetPaths() {
		if v.full() {
			break
		}
		switch {
		case p == "*":
			if len(mask.GetPaths()) > 1 {
				v.add("update_mask", `"*" must be the only path`)
			}
			return top
		case slices.Contains(r.mutable, p):
			paths = append(paths, p)
		case r.fixed[p] != "": // a nested one named whole ("location.coordinates_source")
			v.add(fmt.Sprintf("update_mask.paths[%d]", i), echo(p)+" "+r.fixed[p])
		case r.fixed[strings.SplitN(p, ".", 2)[0]] != "":
			v.add(fmt.Sprintf("update_mask.paths[%d]", i), fmt.Sprintf("%s %s", echo(p), r.fixed[strings.SplitN(p, ".", 2)[0]]))
		default:
			v.add(fmt.Sprintf("update_mask.paths[%d]", i), echo(p)+" is not a field that can be updated")
		}
	}
	return paths
}

// applyMask copies the fields at paths from src into dst; a path unset in
// src clears the field in dst. Paths must have passed resolveMask.
func applyMask(dst, src proto.Message, paths []string) {
	src = proto.Clone(src) // so dst shares nothing with the caller's message
	for _, p := range paths {
		dm, sm := dst.ProtoReflect(), src.ProtoReflect()
		parts := strings.Split(p, ".")
		for _, part := range parts[:len(parts)-1] {
			fd := dm.Descriptor().Fields().ByName(protoreflect.Name(part))
			sm = sm.Get(fd).Message()
			dm = dm.Mutable(fd).Message()
		}
		fd := dm.Descriptor().Fields().ByName(protoreflect.Name(parts[len(parts)-1]))
		if sm.Has(fd) {
			dm.Set(fd, sm.Get(fd))
		} else {
			dm.Clear(fd)
		}
	}
}

// touches reports whether paths change field or anything inside it.
func touches(paths []string, field string) bool {
	for _, p := range paths {
		if p == field || strings.HasPrefix(p, field+".") || strings.HasPrefix(field, p+".") {
			return true
		}
	}
	return false
}
