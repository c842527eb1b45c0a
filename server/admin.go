package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

const (
	tokenPrefix        = "tokens/"
	organisationPrefix = "organisations/"
)

// CreateToken implements pb.AdminServiceServer.
func (s *Server) CreateToken(ctx context.Context, req *pb.CreateTokenRequest) (*pb.CreateTokenResponse, error) {
	var v violations
	t := req.GetToken()
	if t == nil {
		v.add("token", "is required")
		return nil, v.err()
	}
	tok := &pb.Token{
		DisplayName: cleanText(&v, "token.display_name", t.DisplayName, true, 100, false),
		Role:        t.Role,
		ExpireTime:  t.ExpireTime,
	}
	requireVisible(&v, "token.display_name", tok.DisplayName)
	if p := principalFrom(ctx); p != nil {
		tok.Creator = p.Token
	}
	if t.Role == pb.Role_ROLE_UNSPECIFIED || !enumKnown(t.Role) {
		v.add("token.role", "must be ROLE_ADMIN, ROLE_COORDINATOR, ROLE_HELPLINE, ROLE_PARTNER or ROLE_VOLUNTEER")
	}
	if t.ExpireTime != nil {
		if at, ok := checkTimestamp(&v, "token.expire_time", t.ExpireTime); ok && !at.After(s.now()) {
			v.add("token.expire_time", "must be in the future")
		}
	}
	switch {
	case t.Role == partner:
		tok.Organisation = checkOrganisation(&v, "token.organisation", t.Organisation)
	case t.Organisation != "":
		v.add("token.organisation", "is only for ROLE_PARTNER tokens")
	}
	switch {
	case t.Role == volunteer:
		if id := parseName(&v, "token.volunteer", t.Volunteer, volunteerPrefix); id != "" {
			// As the record names itself: a token naming it in capitals
			// would be compared unequal to it, by every check of what the
			// volunteer may see and by the end of their tokens with them.
			tok.Volunteer = volunteerPrefix + strings.ToLower(id)
		}
	case t.Volunteer != "":
		v.add("token.volunteer", "is only for ROLE_VOLUNTEER tokens")
	}
	if store.IsEndedTokenName(tok.DisplayName) {
		// A listing would show a live token as an ended one, and the
		// store would take a volunteer's token so named as ended.
		v.add("token.display_name", fmt.Sprintf("%q is the name the tokens of a deleted or erased volunteer are given: choose another", tok.DisplayName))
	}
	if len(v) == 0 && tok.Organisation != "" {
		if _, err := s.store.GetOrganisation(ctx, tok.Organisation); errors.Is(err, store.ErrNotFound) {
			v.add("token.organisation", "is not a registered organisation: create it first")
		} else if err != nil {
			return nil, s.errs.toStatus(ctx, err, notFound{})
		}
	}
	if len(v) == 0 && tok.Volunteer != "" {
		if _, err := s.store.GetVolunteer(ctx, strings.TrimPrefix(tok.Volunteer, volunteerPrefix)); errors.Is(err, store.ErrNotFound) {
			v.add("token.volunteer", "names no stored volunteer record")
		} else if err != nil {
			return nil, s.errs.toStatus(ctx, err, notFound{})
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	secret, hash, err := NewSecret()
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	// Who made which credential, for whom, is on record with it.
	out, err := s.store.CreateToken(store.WithAudit(ctx, s.auditRecord(ctx, "create", "", nil)), tok, hash, false)
	if errors.Is(err, store.ErrNotFound) && tok.Volunteer != "" {
		// Deleted or erased since the check above.
		v.add("token.volunteer", "names no stored volunteer record")
		return nil, v.err()
	}
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.CreateTokenResponse{Token: out, Secret: secret}, nil
}

// ListTokens implements pb.AdminServiceServer.
func (s *Server) ListTokens(ctx context.Context, req *pb.ListTokensRequest) (*pb.ListTokensResponse, error) {
	var v violations
	size := pageSize(&v, req.GetPageSize())
	if err := v.err(); err != nil {
		return nil, err
	}
	toks, next, err := s.store.ListTokens(ctx, store.Page{Size: size, Token: req.GetPageToken()})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ListTokensResponse{Tokens: toks, NextPageToken: next}, nil
}

// RevokeToken implements pb.AdminServiceServer.
func (s *Server) RevokeToken(ctx context.Context, req *pb.RevokeTokenRequest) (*pb.RevokeTokenResponse, error) {
	var v violations
	id := parseName(&v, "name", req.GetName(), tokenPrefix)
	if err := v.err(); err != nil {
		return nil, err
	}
	tok, err := s.store.RevokeToken(store.WithAudit(ctx, s.auditRecord(ctx, "revoke", "", nil)), id)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{reason: ReasonNotFound, name: tokenPrefix + id})
	}
	return &pb.RevokeTokenResponse{Token: tok}, nil
}

// CreateOrganisation implements pb.AdminServiceServer.
func (s *Server) CreateOrganisation(ctx context.Context, req *pb.CreateOrganisationRequest) (*pb.CreateOrganisationResponse, error) {
	var v violations
	o := req.GetOrganisation()
	if o == nil {
		v.add("organisation", "is required")
		return nil, v.err()
	}
	slug, ok := strings.CutPrefix(o.Name, organisationPrefix)
	if !ok {
		v.add("organisation.name", "must be organisations/{slug}")
	} else {
		slug = checkOrganisation(&v, "organisation.name", slug)
	}
	org := &pb.Organisation{Name: organisationPrefix + slug, DisplayName: cleanText(&v, "organisation.display_name", o.DisplayName, true, 100, false)}
	requireVisible(&v, "organisation.display_name", org.DisplayName)
	if err := v.err(); err != nil {
		return nil, err
	}
	out, err := s.store.CreateOrganisation(ctx, org, slug)
	if errors.Is(err, store.ErrExists) {
		return nil, statusWith(codes.AlreadyExists, ReasonAlreadyExists, org.Name+" already exists", map[string]string{"resource": org.Name})
	}
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.CreateOrganisationResponse{Organisation: out}, nil
}

// ListOrganisations implements pb.AdminServiceServer.
func (s *Server) ListOrganisations(ctx context.Context, req *pb.ListOrganisationsRequest) (*pb.ListOrganisationsResponse, error) {
	var v violations
	size := pageSize(&v, req.GetPageSize())
	if err := v.err(); err != nil {
		return nil, err
	}
	orgs, next, err := s.store.ListOrganisations(ctx, store.Page{Size: size, Token: req.GetPageToken()})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ListOrganisationsResponse{Organisations: orgs, NextPageToken: next}, nil
}

// ListAuditRecords implements pb.AdminServiceServer.
func (s *Server) ListAuditRecords(ctx context.Context, req *pb.ListAuditRecordsRequest) (*pb.ListAuditRecordsResponse, error) {
	var v violations
	size := pageSize(&v, req.GetPageSize())
	// A filter that can match nothing is a mistake, not an empty trail:
	// "nobody read this record" must not be the answer to a typo.
	f := store.AuditFilter{
		Actor:    auditFilterName(&v, "actor", req.GetActor(), `"system" or tokens/{id}`, "system", tokenPrefix),
		Resource: auditFilterName(&v, "resource", req.GetResource(), `"phone", helpRequests/{id}, volunteers/{id} or tokens/{id}`, "phone", helpRequestPrefix, volunteerPrefix, tokenPrefix),
		Action:   req.GetAction(),
	}
	if f.Action != "" && !slices.Contains(auditActions, f.Action) {
		v.add("action", "must be one of "+strings.Join(auditActions, ", "))
	}
	startOK, endOK := true, true
	if req.StartTime != nil {
		f.Start, startOK = checkTimestamp(&v, "start_time", req.StartTime)
	}
	if req.EndTime != nil {
		f.End, endOK = checkTimestamp(&v, "end_time", req.EndTime)
		if f.End.IsZero() {
			// The first instant of year 1 is also time.Time's zero, which
			// the store reads as no bound: nothing is before it anyway.
			f.End = f.End.Add(time.Nanosecond)
		}
	}
	// An empty or backward range is a slip (the bounds swapped, or a day
	// given twice), not a quiet hour: say so rather than list nothing.
	if req.StartTime != nil && req.EndTime != nil && startOK && endOK && !f.End.After(f.Start) {
		v.add("end_time", "must be after start_time")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	recs, next, err := s.store.ListAuditRecords(ctx, f, store.Page{Size: size, Token: req.GetPageToken()})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ListAuditRecordsResponse{AuditRecords: recs, NextPageToken: next}, nil
}

// AuditActions are the actions audit records name (AuditRecord.action),
// for clients that check a filter before sending it.
func AuditActions() []string { return slices.Clone(auditActions) }

// auditActions are the actions audit records name (AuditRecord.action).
var auditActions = []string{"read_contact", "create", "update", "delete", "offer", "accept", "decline", "complete", "release", "cancel", "export", "erase", "purge", "backup", "revoke"}

// auditFilterName checks a ListAuditRecords filter that names an actor or
// a record: the word given, or one of prefixes and an id, which comes back
// in lower case, as records store it (a Get takes it in either case).
func auditFilterName(v *violations, field, name, want, word string, prefixes ...string) string {
	if name == "" || name == word {
		return name
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			if id := parseName(v, field, name, p); id != "" {
				return p + strings.ToLower(id)
			}
			return ""
		}
	}
	v.add(field, "must be "+want)
	return ""
}

// personPhone checks the phone number that names a person.
func personPhone(raw string) (string, error) {
	var v violations
	number, err := phone.Normalise(raw)
	if raw == "" {
		v.add("phone", "is required")
	} else if err != nil {
		v.add("phone", "is not a phone number")
	}
	return number, v.err()
}

// ExportPersonalData implements pb.AdminServiceServer. The export itself
// is a read of everything held about the person, and is audited as one.
func (s *Server) ExportPersonalData(ctx context.Context, req *pb.ExportPersonalDataRequest) (*pb.ExportPersonalDataResponse, error) {
	number, err := personPhone(req.GetPhone())
	if err != nil {
		return nil, err
	}
	exp, err := s.store.ExportPerson(ctx, number)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	tokens, trail, err := s.exportTrail(ctx, exp)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	recs := []*pb.AuditRecord{s.auditRecord(ctx, "export", "phone", []string{"*"})}
	for _, hr := range exp.HelpRequests {
		recs = append(recs, s.auditRecord(ctx, "read_contact", hr.Name, requestRead(hr)))
	}
	for _, v := range exp.Volunteers {
		recs = append(recs, s.auditRecord(ctx, "read_contact", v.Name, volunteerPersonal))
	}
	if err := s.store.RecordAudit(ctx, recs); err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ExportPersonalDataResponse{HelpRequests: exp.HelpRequests, Volunteers: exp.Volunteers, Offers: exp.Offers,
		Tokens: tokens, AuditRecords: trail}, nil
}

// exportPage is how many tokens or audit records an export reads at a
// time: each page is a read transaction of its own, kept short.
const exportPage = 1000

// exportTrail finds what else is held about the person exported: the
// tokens that act as their volunteer records, whose names for people are
// usually theirs, and who read or changed their records, which a subject
// access request is owed too.
func (s *Server) exportTrail(ctx context.Context, exp store.PersonExport) ([]*pb.Token, []*pb.AuditRecord, error) {
	var names []string
	vols := map[string]bool{}
	for _, hr := range exp.HelpRequests {
		names = append(names, hr.Name)
	}
	for _, v := range exp.Volunteers {
		names = append(names, v.Name)
		vols[v.Name] = true // records name themselves in lower case
	}
	var tokens []*pb.Token
	for tok := ""; len(vols) > 0; {
		page, next, err := s.store.ListTokens(ctx, store.Page{Size: exportPage, Token: tok})
		if err != nil {
			return nil, nil, err
		}
		for _, t := range page {
			// Either case: tokens made before CreateToken wrote ids in
			// lower case may name the volunteer in capitals.
			if vols[strings.ToLower(t.Volunteer)] {
				tokens = append(tokens, t)
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	var trail []*pb.AuditRecord
	for tok := ""; len(names) > 0; {
		page, next, err := s.store.ListAuditRecords(ctx, store.AuditFilter{AnyResource: names}, store.Page{Size: exportPage, Token: tok})
		if err != nil {
			return nil, nil, err
		}
		trail = append(trail, page...)
		if tok = next; tok == "" {
			break
		}
	}
	return tokens, trail, nil
}

// ErasePersonalData implements pb.AdminServiceServer.
func (s *Server) ErasePersonalData(ctx context.Context, req *pb.ErasePersonalDataRequest) (*pb.ErasePersonalDataResponse, error) {
	number, err := personPhone(req.GetPhone())
	if err != nil {
		return nil, err
	}
	// One record for the request itself, by phone, and one for each
	// record the erasure changed (the store names them), so that each
	// record's own trail says who erased it and when.
	ctx = store.WithAudit(ctx, s.auditRecord(ctx, "erase", "phone", []string{"*"}), s.auditRecord(ctx, "erase", "", []string{"*"}))
	// The erased volunteers leave matching as soon as the erasure commits:
	// the key rotation after it can take seconds, and until they leave
	// FindCandidates would show them and dispatch would plan for them.
	res, err := s.store.ErasePerson(ctx, number, s.now(), func(r store.ErasureResult) { s.untrack(r.Volunteers...) })
	pending := errors.Is(err, store.ErrKeyRotationPending)
	if err != nil && !pending {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	if pending {
		// The erasure committed; only the key rotation after it failed.
		// Not an error: erasing again would find nothing to erase. But
		// until the next erasure, purge or restart finishes it, copies of
		// the files still hold what was erased, which the admin is told.
		s.logger.Error("erase: key rotation failed: copies of the data and key files still hold what was erased until it is done", zap.Error(err))
	}
	return &pb.ErasePersonalDataResponse{HelpRequestsErased: int32(len(res.HelpRequests)), VolunteersErased: int32(len(res.Volunteers)),
		KeyRotationPending: pending}, nil
}

// auditBackup is the action and the resource of a backup's audit record,
// which a start reads the last backup's time from (lastBackupFrom).
const auditBackup = "backup"

// CreateBackup implements pb.AdminServiceServer. A backup holds everyone's
// personal data and the key that opens it, so it is audited as a read of
// all of it.
func (s *Server) CreateBackup(ctx context.Context, _ *pb.CreateBackupRequest) (_ *pb.CreateBackupResponse, err error) {
	if s.backupDir == "" {
		return nil, statusWith(codes.FailedPrecondition, ReasonBackupDirUnset,
			"this server takes no backups: start doorstepd with --backup-dir, the directory to write them under", nil)
	}
	var info store.BackupInfo
	defer func() { s.metrics.backup(err, info.Time) }() // a backup not audited is removed: failed
	// Milliseconds, so that backups sort by name and two taken in the same
	// second do not clash; the store refuses a directory that exists.
	dir := filepath.Join(s.backupDir, "doorstep-"+s.now().UTC().Format("20060102T150405.000Z"))
	info, err = s.store.Backup(ctx, dir)
	pending := errors.Is(err, store.ErrKeyRotationPending)
	if pending {
		// The backup was taken, as backups must not stop for this, but
		// the key rotation due before it failed: it holds what was erased
		// since the last completed one, which the admin is told.
		s.logger.Error("backup: key rotation failed: this backup still holds what was erased or deleted since the last completed rotation",
			zap.String("dir", info.Dir), zap.Error(err))
		err = nil
	}
	if errors.Is(err, fs.ErrExist) {
		return nil, statusWith(codes.AlreadyExists, ReasonAlreadyExists, "a backup was taken at this same moment; try again", nil)
	}
	if diskFull(err) {
		// Not STORAGE_FULL: the server's own disk may have room, and
		// whoever runs it must free space on the other.
		s.logger.Error("backup disk full: no backup was written", zap.Error(err))
		return nil, statusWith(codes.ResourceExhausted, ReasonBackupDiskFull,
			"the disk --backup-dir is on is full, so no backup was written (nothing else changed): tell whoever runs the server to free space there or give --backup-dir a larger disk", nil)
	}
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	// The copy is whole, and the store has logged it as made: a caller
	// gone meanwhile (a stop's timeout, a Ctrl-C) still took it, and it is
	// put on record and kept rather than thrown away unsaid.
	if err := s.store.RecordAudit(context.WithoutCancel(ctx), []*pb.AuditRecord{s.auditRecord(ctx, auditBackup, auditBackup, []string{"*"})}); err != nil {
		// A copy of everyone's data that nobody on record took is not
		// left behind, any more than a read whose audit failed is answered;
		// the log, which has named its directory, says it is gone. The
		// store removes it for good: a power cut must not bring it back.
		if rerr := s.store.RemoveBackup(info.Dir); rerr != nil {
			s.logger.Error("backup not audited, and not removed (or its removal not yet on disk)", zap.String("dir", info.Dir), zap.Error(rerr))
		} else {
			s.logger.Warn("backup removed: its audit record could not be written", zap.String("dir", info.Dir), zap.Error(err))
		}
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.CreateBackupResponse{Directory: info.Dir, Revision: info.Revision,
		CreateTime: timestamppb.New(info.Time), SizeBytes: info.Bytes, KeyRotationPending: pending}, nil
}
