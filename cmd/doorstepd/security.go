package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/credentials"

	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// transportCredentials builds TLS from the configured files, or returns
// nil for plaintext.
func transportCredentials(c config, logger *zap.Logger) (credentials.TransportCredentials, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	certs, err := newCertFiles(c.tlsCert, c.tlsKey, logger)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{GetCertificate: certs.get, MinVersion: tls.VersionTLS12}
	if c.tlsClientCA != "" {
		pem, err := os.ReadFile(c.tlsClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls client ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls client ca: no PEM certificates in " + c.tlsClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return loggedHandshakes{credentials.NewTLS(cfg), logger, &refusals{seen: map[string]refusal{}}}, nil
}

// loggedHandshakes logs why a TLS handshake was refused. gRPC logs it only
// at a level nobody runs at, so a partner whose client certificate is
// missing, expired or from another CA, or a client that refused the
// server's certificate, was only "it doesn't work" to the operator. The
// log says the reason and no more: no address or certificate names, which
// can be a person's.
//
// Each reason is said at most once a minute, with how many more there were
// since: a server open to the internet with --tls-client-ca is met all day
// by scanners without a client certificate, and a partner's program
// retries with an expired one, and a line a connection would bury the one
// the operator needs.
type loggedHandshakes struct {
	credentials.TransportCredentials
	logger   *zap.Logger
	refusals *refusals
}

// refusalEvery is how often one reason for refusing handshakes is logged.
const refusalEvery = time.Minute

type refusals struct {
	mu   sync.Mutex
	seen map[string]refusal // by reason
}

type refusal struct {
	logged time.Time
	since  int // refused for this reason since, not logged
}

// note says whether a refusal for reason is to be logged now, and how
// many went unlogged before it.
func (r *refusals) note(reason string, now time.Time) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// An expiry's reason holds the time of the handshake; the rest is the
	// reason.
	if i := strings.Index(reason, ": current time"); i >= 0 {
		reason = reason[:i]
	}
	seen, ok := r.seen[reason]
	if ok && now.Sub(seen.logged) < refusalEvery {
		seen.since++
		r.seen[reason] = seen
		return false, 0
	}
	if len(r.seen) > 100 { // reasons are few; this is only a bound
		clear(r.seen)
	}
	r.seen[reason] = refusal{logged: now}
	return true, seen.since
}

func (l loggedHandshakes) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := l.TransportCredentials.ServerHandshake(raw)
	switch {
	case err == nil:
	case strings.Contains(err.Error(), "certificate"):
		reason := refusalReason(err)
		if log, since := l.refusals.note(reason, time.Now()); log {
			l.logger.Warn("TLS handshake refused", zap.String("reason", reason), zap.Int("more_since_last_said", since))
		}
	case !errors.Is(err, io.EOF):
		// Port scans, plaintext clients and probes that only connect.
		l.logger.Debug("TLS handshake failed", zap.String("reason", failedReason(err)))
	}
	return conn, info, err
}

// refusalReason says why a handshake was refused for a certificate in
// words of a fixed list. Go's own text can quote the certificate's names
// (a name constraint's error quotes the DNS name or email address it
// refused, and a certificate is often issued to a person), and no log line
// may hold personal data.
func refusalReason(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	msg := err.Error()
	switch {
	case errors.As(err, &unknown):
		return "the client's certificate is signed by an unknown authority, not one in --tls-client-ca"
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "the client's certificate has expired or is not yet valid"
		}
		return "the client's certificate is not valid for this server: " + invalidWords[invalid.Reason]
	case strings.Contains(msg, "didn't provide a certificate"):
		return "the client didn't provide a certificate"
	case strings.Contains(msg, "remote error: tls: "):
		// An alert the client sent: its name is Go's fixed text.
		return "the client refused the server's certificate (" + msg[strings.LastIndex(msg, "remote error: tls: ")+len("remote error: tls: "):] + ")"
	default:
		return "the client's certificate could not be read or used"
	}
}

// failedReason says why a handshake failed for no certificate's sake. Go's
// "tls: ..." texts are its own; a network error names both addresses, and
// a client's is personal data.
func failedReason(err error) string {
	if msg := err.Error(); strings.HasPrefix(msg, "tls: ") {
		return msg
	}
	return "the connection failed before TLS was agreed"
}

// invalidWords name x509's reasons a certificate is invalid.
var invalidWords = map[x509.InvalidReason]string{
	x509.NotAuthorizedToSign:           "signed by a certificate that is not a CA",
	x509.CANotAuthorizedForThisName:    "its CA may not sign for the names it holds",
	x509.TooManyIntermediates:          "too many intermediate certificates",
	x509.IncompatibleUsage:             "not issued for client authentication",
	x509.NameMismatch:                  "its issuer's name does not match",
	x509.NameConstraintsWithoutSANs:    "its CA constrains names, and it holds none",
	x509.UnconstrainedName:             "it holds a name its CA's constraints cannot check",
	x509.TooManyConstraints:            "too many name constraints to check",
	x509.CANotAuthorizedForExtKeyUsage: "its CA may not sign for its uses",
	x509.NoValidChains:                 "no chain to a trusted CA is valid",
}

func (l loggedHandshakes) Clone() credentials.TransportCredentials {
	return loggedHandshakes{l.TransportCredentials.Clone(), l.logger, l.refusals}
}

// certFiles serves the certificate in --tls-cert and --tls-key, read again
// when either file changes. Certificates are renewed every 60 to 90 days
// (Let's Encrypt), and a restart to take up the new one would cut every
// watcher's stream. A renewal writes one file and then the other: a pair
// that cannot be loaded leaves the last good one served, with a warning,
// until the next change.
type certFiles struct {
	certPath, keyPath string
	logger            *zap.Logger

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp // of the files when last read, loaded or not
	// unread is the last error that stopped the files being looked at,
	// said once and not at every connection.
	unread string
	// expiredSaid is the certificate whose expiry was last warned of: one
	// that expires while served (a renewal that stopped working) is said
	// at the next connection, once.
	expiredSaid *tls.Certificate
}

// fileStamp tells a file's versions apart without reading it: a renewal
// writes a new file or repoints a symbolic link, which os.Stat follows.
// Its mode and inode change time count too: a key the server could not
// read when it changed, given to it after by chmod or chown, is a new
// version, or the renewal would wait for the next one, 60 days away.
type fileStamp struct {
	mod   time.Time
	size  int64
	mode  os.FileMode
	inode [2]int64
}

func newCertFiles(certPath, keyPath string, logger *zap.Logger) (*certFiles, error) {
	cf := &certFiles{certPath: certPath, keyPath: keyPath, logger: logger}
	stamp, err := cf.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := loadCertPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	cf.cert, cf.stamp = cert, stamp
	cf.warn(cert)
	return cf, nil
}

// warn says, at start and at each reload, what about the files clients
// would meet only as a failed handshake, or an attacker as a gift.
func (cf *certFiles) warn(cert *tls.Certificate) {
	now := time.Now()
	switch leaf := cert.Leaf; {
	case now.After(leaf.NotAfter):
		cf.warnExpired(cert)
	case now.Before(leaf.NotBefore):
		cf.logger.Warn("the TLS certificate in --tls-cert is not valid yet: clients will refuse it until then, or this machine's clock is wrong",
			zap.String("file", cf.certPath), zap.Time("not_before", leaf.NotBefore))
	}
	// Group-readable is common (Debian's ssl-cert group); readable by
	// every user of the machine is a key anyone there can serve as us with.
	if fi, err := os.Stat(cf.keyPath); err == nil && fi.Mode().Perm()&0o004 != 0 {
		cf.logger.Warn("--tls-key "+cf.keyPath+" can be read by every user of this machine: make it readable only by the server (chmod 600 or 640)",
			zap.String("mode", fi.Mode().Perm().String()))
	}
}

func (cf *certFiles) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, f := range []struct{ flag, path string }{{"--tls-cert", cf.certPath}, {"--tls-key", cf.keyPath}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			return out, fmt.Errorf("%s: %w", f.flag, err)
		}
		out[i] = fileStamp{fi.ModTime(), fi.Size(), fi.Mode(), inodeStamp(fi)}
	}
	return out, nil
}

// get is tls.Config.GetCertificate: two stats a handshake, which costs
// little beside the handshake itself.
func (cf *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	cert := cf.current()
	if cert != cf.expiredSaid && time.Now().After(cert.Leaf.NotAfter) {
		cf.warnExpired(cert)
	}
	return cert, nil
}

func (cf *certFiles) warnExpired(cert *tls.Certificate) {
	cf.expiredSaid = cert
	cf.logger.Warn("the TLS certificate in --tls-cert has expired: clients will refuse it until it is renewed",
		zap.String("file", cf.certPath), zap.Time("not_after", cert.Leaf.NotAfter))
}

// current is the pair to serve, read again if the files changed. cf.mu
// is held.
func (cf *certFiles) current() *tls.Certificate {
	stamp, err := cf.stamps()
	if err != nil {
		// A file missing for a moment (being replaced) keeps the old pair.
		// One that stays missing would be found only by the next start,
		// which refuses it: said now, once.
		if msg := err.Error(); msg != cf.unread {
			cf.unread = msg
			cf.logger.Warn("TLS certificate files cannot be read; still serving the certificate loaded before, but the server will not start again until they can be", zap.Error(err))
		}
		return cf.cert
	}
	cf.unread = ""
	if stamp == cf.stamp {
		return cf.cert
	}
	cf.stamp = stamp
	cert, err := loadCertPair(cf.certPath, cf.keyPath)
	if err != nil {
		cf.logger.Warn("TLS certificate files changed but cannot be loaded; still serving the previous certificate", zap.Error(err))
		return cf.cert
	}
	cf.cert = cert
	cf.logger.Info("TLS certificate reloaded", zap.String("file", cf.certPath), zap.Time("not_after", cert.Leaf.NotAfter))
	cf.warn(cert)
	return cf.cert
}

// loadCertPair reads a certificate chain and its key, naming the flags in
// any error.
func loadCertPair(certPath, keyPath string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", certPath, keyPath, err)
	}
	return &cert, nil
}

// loopback says whether addr is reachable only from this machine.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// announceFirstToken makes the first admin token on an empty store and
// hands its secret over once: to a new file only its owner can read, or to
// stderr. Never to the log, which is kept and shipped elsewhere.
//
// The secret is written out before the token is stored, so that a file
// that cannot be written never leaves an admin token nobody holds.
func announceFirstToken(ctx context.Context, st store.Store, c config, stderr io.Writer) error {
	if toks, _, err := st.ListTokens(ctx, store.Page{Size: 1}); err != nil {
		return fmt.Errorf("first admin token: %w", err)
	} else if len(toks) > 0 {
		return nil
	}
	if err := secretNotToJournal(c, "the first admin token"); err != nil {
		return err
	}
	secret, hash, err := adminSecret(c, "first admin token")
	if errors.Is(err, fs.ErrExist) && c.adminTokenFile != "" {
		// With no token stored, the usual cause is a start stopped between
		// writing the file and storing its token. The file is not removed,
		// nor said to be useless: it may be another server's.
		return fmt.Errorf("--admin-token-file %s is there already, and the data file has no token yet: "+
			"most likely left by a start stopped before it stored that token (killed, or the machine went down), and its secret opens nothing on this server; "+
			"remove it unless it holds another server's token, or give another file, and start again: %w", c.adminTokenFile, err)
	}
	if err != nil {
		return err
	}
	_, err = st.CreateToken(server.SystemAudit(ctx, "create"), server.FirstAdminToken(), hash, true)
	if errors.Is(err, store.ErrExists) {
		// Another process made the first token in between.
		if c.adminTokenFile != "" {
			_ = os.Remove(c.adminTokenFile)
		}
		return nil
	}
	if err != nil {
		// The file holds a secret no token has: left behind, it would
		// make the next start refuse ("file exists"), or be taken for
		// the token.
		if c.adminTokenFile != "" {
			_ = os.Remove(c.adminTokenFile)
		}
		return fmt.Errorf("first admin token: %w", err)
	}
	if c.adminTokenFile == "" {
		_, err := fmt.Fprintf(stderr, "doorstepd: the first admin token, shown only this once; keep it safe:\n%s\n", secret)
		return err
	}
	// The token is in its file, where the operator was told to look: a
	// stderr whose reader has gone (journald restarting) must not fail a
	// start that has made it.
	_, _ = fmt.Fprintf(stderr, "doorstepd: the first admin token is in %s\n", c.adminTokenFile)
	return nil
}

// recoverAdmin makes one more admin token in the data file and hands its
// secret over as announceFirstToken does. Admin tokens are otherwise made
// only by an admin: one who lost theirs, or whose tokens all expired,
// would have no way back to tokens, exports or erasures. It needs the
// machine and the file, which is why it is a flag and not a call, and it
// needs the server stopped: bbolt locks the file while it runs.
func recoverAdmin(ctx context.Context, c config, logger *zap.Logger, stderr io.Writer) error {
	if err := secretNotToJournal(c, "--new-admin-token"); err != nil {
		return err
	}
	path := filepath.Join(c.dataDir, "doorstep.db")
	if _, err := os.Stat(path); err != nil {
		// A new file would get its first admin token by starting the
		// server, not this.
		return fmt.Errorf("--new-admin-token: no data file at %s: start the server once, and it makes the first admin token", path)
	}
	st, err := store.Open(path, store.WithLogger(logger))
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("--new-admin-token: %s is in use: stop the server first", path)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", zap.Error(err))
		}
	}()
	secret, hash, err := adminSecret(c, "new admin token")
	if err != nil {
		return err
	}
	// On record as the server's own act: whoever ran it had the data
	// file, not a token.
	tok, err := st.CreateToken(server.SystemAudit(ctx, "create"), server.RecoveryAdminToken(), hash, false)
	if err != nil {
		if c.adminTokenFile != "" {
			_ = os.Remove(c.adminTokenFile)
		}
		return fmt.Errorf("new admin token: %w", err)
	}
	logger.Info("admin token made with --new-admin-token", zap.String("token", tok.Name))
	if c.adminTokenFile == "" {
		_, err := fmt.Fprintf(stderr, "doorstepd: a new admin token (%s), shown only this once; keep it safe:\n%s\n", tok.Name, secret)
		return err
	}
	_, _ = fmt.Fprintf(stderr, "doorstepd: a new admin token (%s) is in %s\n", tok.Name, c.adminTokenFile) // made, as for the first
	return nil
}

// secretNotToJournal refuses to show an admin token's secret on stderr
// when stderr is the journal (under systemd), which keeps every line,
// shows it to whoever may read the log and ships it on: such a token
// opens everyone's personal data.
func secretNotToJournal(c config, what string) error {
	if c.adminTokenFile != "" || !c.stderrJournal {
		return nil
	}
	return fmt.Errorf("%s would be shown on stderr, which is the journal here (systemd): it keeps every line "+
		"and shows it to whoever may read the log; give --admin-token-file FILE (a new file, in a directory only "+
		"the server's user can write, such as its StateDirectory) and start again", what)
}

// adminSecret makes an admin token's secret and, with --admin-token-file,
// writes it out first: a file that cannot be written must stop the token
// being stored, or it would be an admin token nobody holds.
func adminSecret(c config, what string) (string, [32]byte, error) {
	secret, hash, err := server.NewSecret()
	if err != nil {
		return "", hash, fmt.Errorf("%s: %w", what, err)
	}
	if c.adminTokenFile != "" {
		if err := writeSecret(c.adminTokenFile, secret); err != nil {
			return "", hash, fmt.Errorf("admin token file: %w", err)
		}
	}
	return secret, hash, nil
}

// writeSecret writes a new file only its owner can read, on disk with its
// name when it returns. A file made but not written through (a full disk)
// is removed: it is ours, made just now, and left behind it would make the
// next start refuse ("file exists").
func writeSecret(path, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		// A directory is "file exists" too, which the first start would
		// read as a file left by a start stopped before its token.
		if fi, serr := os.Stat(path); errors.Is(err, fs.ErrExist) && serr == nil && fi.IsDir() {
			return fmt.Errorf("%s is a directory: give the path of a new file, such as %s", path, filepath.Join(path, "admin.token"))
		}
		return err
	}
	_, err = fmt.Fprintln(f, secret)
	if err == nil {
		err = syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The file's name too, before its token is stored: after a power
		// cut, a token whose file is gone is one nobody holds.
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}
