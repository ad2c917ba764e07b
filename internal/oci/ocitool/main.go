// Command ocitool writes a root filesystem as an OCI image layout and
// unpacks one again (package oci); scripts/image.sh and
// scripts/image-test.sh run it for `make image` and `make image-test`.
//
//	ocitool write -rootfs DIR -out LAYOUT -ref hintfleet:dev -user 10001:10001 -entrypoint /usr/bin/hintfleet
//	ocitool unpack -layout LAYOUT -ref hintfleet:dev -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hintfleet/hintfleet/internal/oci"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ocitool write|unpack [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "write":
		err = write(os.Args[2:])
	case "unpack":
		err = unpack(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want write or unpack", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ocitool:", err)
		os.Exit(1)
	}
}

func write(args []string) error {
	fs := flag.NewFlagSet("write", flag.ExitOnError)
	rootfs := fs.String("rootfs", "", "root filesystem directory")
	out := fs.String("out", "", "OCI layout directory to create")
	ref := fs.String("ref", "hintfleet:dev", "image name in the layout's index")
	user := fs.String("user", "10001:10001", "user the image runs as")
	entry := fs.String("entrypoint", "/usr/bin/hintfleet", "entrypoint, space-separated")
	env := fs.String("env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "environment, comma-separated")
	workdir := fs.String("workdir", "/var/lib/hintfleet", "working directory")
	labels := fs.String("labels", "", "labels, comma-separated k=v")
	_ = fs.Parse(args)
	if *rootfs == "" || *out == "" {
		return fmt.Errorf("write: -rootfs and -out are required")
	}
	// SOURCE_DATE_EPOCH (reproducible-builds.org) fixes the time stamps.
	created := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		created = time.Unix(n, 0).UTC()
	}
	cfg := oci.Config{Ref: *ref, User: *user, Entrypoint: strings.Fields(*entry), WorkingDir: *workdir, Created: created}
	if *env != "" {
		cfg.Env = strings.Split(*env, ",")
	}
	if *labels != "" {
		cfg.Labels = map[string]string{}
		for _, kv := range strings.Split(*labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			cfg.Labels[k] = v
		}
	}
	d, err := oci.Write(*out, *rootfs, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s@%s\n", *out, *ref, d)
	return nil
}

func unpack(args []string) error {
	fs := flag.NewFlagSet("unpack", flag.ExitOnError)
	layout := fs.String("layout", "", "OCI layout directory")
	ref := fs.String("ref", "", "image name (default: the only image)")
	out := fs.String("out", "", "directory to unpack the root filesystem into")
	_ = fs.Parse(args)
	if *layout == "" || *out == "" {
		return fmt.Errorf("unpack: -layout and -out are required")
	}
	cf, err := oci.Unpack(*layout, *ref, *out)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(cf.Config)
}
