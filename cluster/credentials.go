package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/hintfleet/hintfleet/redact"
)

// The users of a locked embedded fleet (WithCredentials). The coordinator
// user may do anything on NATS; the worker user only what a worker does
// (WorkerPermissions). etcd has one user, root, with auth enabled.
const (
	NATSCoordinatorUser = "coordinator"
	NATSWorkerUser      = "worker"
	EtcdRootUser        = "root"
)

// credentialsDir is where EnsureCredentials keeps the password files,
// under the data directory: mode 0700, files 0600.
const credentialsDir = "credentials"

// CredentialFiles name the password files of a locked fleet; endpoints.json
// carries these paths (never the passwords) so that every process joining
// through it presents the credentials of its role.
type CredentialFiles struct {
	NATSCoordinator string `json:"nats_coordinator"`
	NATSWorker      string `json:"nats_worker"`
	EtcdRoot        string `json:"etcd_root"`
}

// Credentials are the passwords behind CredentialFiles.
type Credentials struct {
	NATSCoordinator redact.Secret
	NATSWorker      redact.Secret
	EtcdRoot        redact.Secret
	// NATSRoute is what the NATS servers of a multi-node cluster present to
	// each other (ClusterCredentials); no client uses it, so endpoints.json
	// never names its file.
	NATSRoute redact.Secret
}

// natsRouteFile is the route password's file in a credentials folder.
const natsRouteFile = "nats-route.password"

// ClusterCredentials returns the credentials of a multi-node cluster
// (StartNode) from the folder cdir, which every node must hold an identical
// copy of: generated there when generate is set (files that exist are kept),
// else read, and a missing file is an error wrapping fs.ErrNotExist.
func ClusterCredentials(cdir string, generate bool) (CredentialFiles, Credentials, error) {
	f := credentialFilesIn(cdir)
	route := filepath.Join(cdir, natsRouteFile)
	if generate {
		if err := os.MkdirAll(cdir, 0o700); err != nil {
			return CredentialFiles{}, Credentials{}, fmt.Errorf("credentials: %w", err)
		}
	}
	var c Credentials
	for _, x := range []struct {
		path string
		dst  *redact.Secret
	}{{f.NATSCoordinator, &c.NATSCoordinator}, {f.NATSWorker, &c.NATSWorker}, {f.EtcdRoot, &c.EtcdRoot}, {route, &c.NATSRoute}} {
		var err error
		if generate {
			*x.dst, err = ensureSecretFile(x.path)
		} else {
			*x.dst, err = ReadSecretFile(x.path)
		}
		if err != nil {
			return CredentialFiles{}, Credentials{}, err
		}
	}
	return f, c, nil
}

func credentialFilesIn(cdir string) CredentialFiles {
	return CredentialFiles{
		NATSCoordinator: filepath.Join(cdir, "nats-coordinator.password"),
		NATSWorker:      filepath.Join(cdir, "nats-worker.password"),
		EtcdRoot:        filepath.Join(cdir, "etcd-root.password"),
	}
}

// EnsureCredentials returns dir's credential files, generating any that is
// missing with a fresh random password (a restarted fleet keeps its own),
// and their passwords. A file that others than its owner may read is an
// error: its password must be taken as known.
func EnsureCredentials(dir string) (CredentialFiles, Credentials, error) {
	cdir := filepath.Join(dir, credentialsDir)
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return CredentialFiles{}, Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	f := credentialFilesIn(cdir)
	var c Credentials
	for _, x := range []struct {
		path string
		dst  *redact.Secret
	}{{f.NATSCoordinator, &c.NATSCoordinator}, {f.NATSWorker, &c.NATSWorker}, {f.EtcdRoot, &c.EtcdRoot}} {
		s, err := ensureSecretFile(x.path)
		if err != nil {
			return CredentialFiles{}, Credentials{}, err
		}
		*x.dst = s
	}
	return f, c, nil
}

func ensureSecretFile(path string) (redact.Secret, error) {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		s := rand.Text() + rand.Text()
		_, werr := fh.WriteString(s + "\n")
		if err := errors.Join(werr, fh.Sync(), fh.Close()); err != nil {
			os.Remove(path)
			return "", fmt.Errorf("credentials %s: %w", path, err)
		}
		return redact.Secret(s), nil
	case errors.Is(err, fs.ErrExist):
		return ReadSecretFile(path)
	default:
		return "", fmt.Errorf("credentials: %w", err)
	}
}

// ReadSecretFile reads a password or token file (one line) that only its
// owner may read.
func ReadSecretFile(path string) (redact.Secret, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("credentials %s: mode %04o lets others read it; chmod 600", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("credentials %s: empty", path)
	}
	return redact.Secret(s), nil
}

// WithCredentials locks the embedded servers: NATS accepts only the
// coordinator user (everything) and the worker user (WorkerPermissions);
// etcd has auth enabled with root as its only user. Embedded.Config then
// carries the coordinator's and root's credentials.
func WithCredentials(c Credentials) EmbeddedOption {
	return func(o *embedOptions) error {
		if c.NATSCoordinator == "" || c.NATSWorker == "" || c.EtcdRoot == "" {
			return errors.New("embedded credentials: a password is empty")
		}
		if o.token != "" {
			return errors.New("embedded credentials: a NATS token is set too; use one")
		}
		o.creds = &c
		return nil
	}
}

// WorkerPermissions are what the worker NATS user may do: look up the
// TASKS stream and the checkpoints bucket, make and read its pool's pull
// consumers on TASKS, pull and acknowledge tasks, publish results, and
// read (by key and by watch), write, delete and purge checkpoints. It manages no other stream, reads no
// result, and cannot publish tasks.
func WorkerPermissions() *server.Permissions {
	kv := "KV_" + BucketCheckpoints
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.INFO",
			"$JS.API.STREAM.INFO." + StreamTasks,
			"$JS.API.STREAM.INFO." + kv,
			"$JS.API.CONSUMER.CREATE." + StreamTasks + ".>",
			"$JS.API.CONSUMER.DURABLE.CREATE." + StreamTasks + ".>",
			"$JS.API.CONSUMER.INFO." + StreamTasks + ".>",
			"$JS.API.CONSUMER.MSG.NEXT." + StreamTasks + ".>",
			"$JS.ACK." + StreamTasks + ".>",
			resultsRoot + ".>",
			"$KV." + BucketCheckpoints + ".>",
			"$JS.API.DIRECT.GET." + kv + ".>",
			"$JS.API.DIRECT.GET." + kv,
			"$JS.API.STREAM.MSG.GET." + kv,
			// The worker purges a task's checkpoint log by subject once the
			// result is published (and compacts it on a hand-back). Without
			// this every finished task waited out the purge's timeout, and
			// the logs stayed until the bucket's TTL.
			"$JS.API.STREAM.PURGE." + kv,
			// A retried task rebuilds its checkpoint log with a watch on
			// its keys: an ordered consumer on the bucket's stream (made
			// with its filter in the subject, remade after a gap, deleted
			// at the end) that asks for flow-control replies. Without these
			// every resume in a locked fleet timed out and started afresh.
			"$JS.API.CONSUMER.CREATE." + kv + ".>",
			"$JS.API.CONSUMER.DELETE." + kv + ".>",
			"$JS.FC." + kv + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
}

// natsUsers are the embedded NATS's users for c.
func natsUsers(c *Credentials) []*server.User {
	return []*server.User{
		{Username: NATSCoordinatorUser, Password: c.NATSCoordinator.Reveal()},
		{Username: NATSWorkerUser, Password: c.NATSWorker.Reveal(), Permissions: WorkerPermissions()},
	}
}

// enableEtcdAuth turns etcd's auth on with root as the user, once: a
// restarted fleet finds it on and leaves it. The members of a cluster each
// call it at start, so another member may turn auth on between any two
// steps here; a step refused for want of a user means exactly that.
func enableEtcdAuth(ctx context.Context, ec EtcdConfig, root redact.Secret) error {
	cli, err := dialEtcd(ctx, ec)
	if authOn(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enable etcd auth: %w", err)
	}
	defer cli.Close()
	if _, err := cli.RoleAdd(ctx, "root"); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
		if authOn(err) {
			return nil
		}
		return fmt.Errorf("enable etcd auth: add role root: %w", err)
	}
	if _, err := cli.UserAdd(ctx, EtcdRootUser, root.Reveal()); err != nil {
		if authOn(err) {
			return nil
		}
		if !errors.Is(err, rpctypes.ErrUserAlreadyExist) {
			return fmt.Errorf("enable etcd auth: add user root: %w", err)
		}
		if _, err := cli.UserChangePassword(ctx, EtcdRootUser, root.Reveal()); err != nil && !authOn(err) {
			return fmt.Errorf("enable etcd auth: set root's password: %w", err)
		}
	}
	if _, err := cli.UserGrantRole(ctx, EtcdRootUser, "root"); err != nil && !authOn(err) {
		return fmt.Errorf("enable etcd auth: grant root: %w", err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil && !authOn(err) {
		return fmt.Errorf("enable etcd auth: %w", err)
	}
	return nil
}

// authOn reports whether err says etcd's auth is on already: a request
// without a user is refused.
func authOn(err error) bool {
	return errors.Is(err, rpctypes.ErrUserEmpty) || err != nil && strings.Contains(err.Error(), "user name is empty")
}
