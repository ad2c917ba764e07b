package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
)

// DataIDFile holds the id of a coordinator's DataDir, also registered in
// etcd (cluster.DataIDKey) by the first replica that starts. The output
// files are the truth of what is done, so every replica must read and
// write the same ones: a replica whose DataDir holds another id, or none
// while the fleet has one, is on another disk and refuses to start
// (ErrDataDir). It is not the data dir's lock (cluster.LockData), which
// says who owns the folder on one machine.
const DataIDFile = "data-id"

// checkDataDir makes sure DataDir is the folder the fleet's other replicas
// use. With no id in etcd it registers this folder's (creating one in a
// new folder); two replicas on different folders that start at once race
// for the registration in one transaction, and the loser refuses.
func (c *Coordinator) checkDataDir(ctx context.Context) error {
	dir := c.cfg.DataDir
	path := filepath.Join(dir, DataIDFile)
	local, err := readDataID(path)
	if err != nil {
		return err
	}
	resp, err := c.conn.Etcd.Get(ctx, cluster.DataIDKey)
	if err != nil {
		return fmt.Errorf("check data dir: read %s: %w", cluster.DataIDKey, err)
	}
	var fleet string
	if len(resp.Kvs) == 1 {
		fleet = string(resp.Kvs[0].Value)
	} else {
		if local == "" {
			if local, err = writeDataID(path); err != nil {
				return err
			}
		}
		tr, err := c.conn.Etcd.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(cluster.DataIDKey), "=", 0)).
			Then(clientv3.OpPut(cluster.DataIDKey, local)).
			Else(clientv3.OpGet(cluster.DataIDKey)).Commit()
		if err != nil {
			return fmt.Errorf("check data dir: register %s: %w", cluster.DataIDKey, err)
		}
		fleet = local
		if !tr.Succeeded {
			if kvs := tr.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
				fleet = string(kvs[0].Value)
			}
		}
	}
	switch {
	case local == fleet:
		return nil
	case local == "":
		return fmt.Errorf("%w: %s holds no %s, but the fleet's coordinators use the data dir with id %s (etcd %s): every replica must use the same --data, a shared volume; refusing to lead on another one",
			ErrDataDir, dir, DataIDFile, fleet, cluster.DataIDKey)
	}
	return fmt.Errorf("%w: %s has data id %s, but the fleet's coordinators use the data dir with id %s (etcd %s): every replica must use the same --data, a shared volume; refusing to lead on another one",
		ErrDataDir, dir, local, fleet, cluster.DataIDKey)
}

// readDataID returns the folder's id; empty when it has none.
func readDataID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check data dir: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("check data dir: %s is empty", path)
	}
	return id, nil
}

// writeDataID creates the folder's id, synced; if another replica on the
// same folder created it first, that one is kept.
func writeDataID(path string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), DirMode); err != nil {
		return "", fmt.Errorf("check data dir: %w", err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, os.ErrExist) {
		return readDataID(path)
	}
	if err != nil {
		return "", fmt.Errorf("check data dir: %w", err)
	}
	_, werr := f.WriteString(id + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", fmt.Errorf("check data dir: write %s: %w", path, err)
	}
	return id, nil
}
