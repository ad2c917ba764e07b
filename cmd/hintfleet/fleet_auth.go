package main

import (
	"github.com/spf13/cobra"

	"github.com/hintfleet/hintfleet/coordinator"
)

// registerAuth binds the serving side of the API's security (who may call
// it, over what) to s, and the request limits to c.
func registerAuth(cmd *cobra.Command, s *coordinator.Security, c *coordinator.Config) {
	fl := cmd.Flags()
	fl.StringVar(&s.TokensFile, "api-tokens", "", "API bearer tokens file: lines of ROLE TOKEN (roles read, submit, admin), mode 0600 (else $"+coordinator.EnvAPITokens+", else the file endpoints.json names)")
	fl.StringVar(&s.TLSCert, "api-tls-cert", "", "serve the API over TLS with this certificate")
	fl.StringVar(&s.TLSKey, "api-tls-key", "", "key of --api-tls-cert")
	fl.StringVar(&s.TLSClientCA, "api-tls-client-ca", "", "CA of client certificates: a verified certificate named in --api-cert-role is a credential")
	fl.StringArrayVar(&s.CertRoles, "api-cert-role", nil, "NAME=ROLE: a client certificate with this CN or SAN gets ROLE (read, submit, admin); repeatable")
	fl.BoolVar(&s.MetricsOpen, "metrics-open", false, "serve /metrics without a credential (default: the read role)")
	fl.BoolVar(&s.Insecure, "insecure", false, "INSECURE: no credentials: the API serves anyone (with up, NATS and etcd too); development only")
	fl.StringVar(&c.ProblemsDir, "problems-dir", "", "the one directory a job's problems_path may name a file in (default: none; jobs carry problems inline or name a dataset)")
	fl.Int64Var(&c.MaxBodyBytes, "max-body-bytes", coordinator.DefaultMaxBodyBytes, "largest request body the API reads")
	fl.IntVar(&c.MaxTasksPerJob, "max-tasks-per-job", coordinator.DefaultMaxTasksPerJob, "largest problems × samples of one job")
}
