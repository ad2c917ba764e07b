package manifests

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// certificate and issuer are the parts of cert-manager.io/v1 we use; as
// with serviceMonitor, a strict decode into the subset rejects misspelt
// fields without importing cert-manager's module.
type certificate struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		SecretName     string   `json:"secretName"`
		CommonName     string   `json:"commonName,omitempty"`
		DNSNames       []string `json:"dnsNames,omitempty"`
		IsCA           bool     `json:"isCA,omitempty"`
		Duration       string   `json:"duration,omitempty"`
		Usages         []string `json:"usages,omitempty"`
		EmailAddresses []string `json:"emailAddresses,omitempty"`
		PrivateKey     *struct {
			Algorithm string `json:"algorithm,omitempty"`
			Size      int    `json:"size,omitempty"`
		} `json:"privateKey,omitempty"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind,omitempty"`
			Group string `json:"group,omitempty"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

type issuer struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
}

// checkCertificates: every TLS Secret a pod mounts is issued by a
// Certificate of an Issuer in the build, and each hintfleet component
// has a client certificate of its own, for client auth only.
func checkCertificates(t *testing.T, objs []object) {
	t.Helper()
	issuers := map[string]bool{}
	for _, is := range all[*issuer](objs) {
		issuers[is.Metadata.Name] = true
	}
	certs := map[string]*certificate{}
	for _, c := range all[*certificate](objs) {
		if !issuers[c.Spec.IssuerRef.Name] {
			t.Errorf("certificate %s: issuer %q not in the build", c.Metadata.Name, c.Spec.IssuerRef.Name)
		}
		certs[c.Spec.SecretName] = c
	}
	for _, pod := range podSpecs(objs) {
		for _, v := range pod.spec.Volumes {
			if v.Secret == nil {
				continue
			}
			if _, ok := certs[v.Secret.SecretName]; !ok {
				t.Errorf("%s mounts secret %s, which no Certificate issues", pod.name, v.Secret.SecretName)
			}
		}
	}
	for _, who := range []string{"hintfleet-coordinator", "hintfleet-worker"} {
		c := certs[who+"-tls"]
		if c == nil {
			t.Errorf("no client certificate %s-tls", who)
			continue
		}
		if c.Spec.CommonName != who || !slices.Equal(c.Spec.Usages, []string{"client auth"}) {
			t.Errorf("certificate %s: CN %q usages %v, want CN %s for client auth only", c.Metadata.Name, c.Spec.CommonName, c.Spec.Usages, who)
		}
	}
}

// pod is one pod template of the build and who owns it.
type pod struct {
	name string
	spec corev1.PodSpec
}

func podSpecs(objs []object) []pod {
	var out []pod
	for _, o := range objs {
		name := fmt.Sprintf("%s %s", o.kind, o.name)
		switch v := o.value.(type) {
		case *appsv1.Deployment:
			out = append(out, pod{name, v.Spec.Template.Spec})
		case *appsv1.DaemonSet:
			out = append(out, pod{name, v.Spec.Template.Spec})
		case *appsv1.StatefulSet:
			out = append(out, pod{name, v.Spec.Template.Spec})
		}
	}
	return out
}

// checkHardening: every pod runs as non-root with a seccomp profile;
// every container drops all capabilities, cannot gain privileges and has
// a read-only root; no host path is writable. The worker's sandbox
// settings (Localhost seccomp, unmasked /proc in its own user namespace)
// are allowed on the worker container alone.
func checkHardening(t *testing.T, objs []object) {
	t.Helper()
	for _, p := range podSpecs(objs) {
		sc := p.spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil {
			t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and a seccompProfile", p.name, sc)
		}
		if p.spec.HostNetwork || p.spec.HostPID || p.spec.HostIPC {
			t.Errorf("%s: shares a host namespace", p.name)
		}
		for _, v := range p.spec.Volumes {
			if v.HostPath == nil {
				continue
			}
			for _, c := range slices.Concat(p.spec.Containers, p.spec.InitContainers) {
				for _, m := range c.VolumeMounts {
					if m.Name == v.Name && !m.ReadOnly {
						t.Errorf("%s: container %s mounts host path %s read-write", p.name, c.Name, v.HostPath.Path)
					}
				}
			}
		}
		for _, c := range slices.Concat(p.spec.Containers, p.spec.InitContainers) {
			where := p.name + " container " + c.Name
			cs := c.SecurityContext
			if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
				cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
				cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) != 0 {
				t.Errorf("%s: securityContext %+v, want no privilege escalation, read-only root, drop ALL, add none", where, cs)
				continue
			}
			if cs.Privileged != nil && *cs.Privileged {
				t.Errorf("%s: privileged", where)
			}
			sandbox := c.Name == "worker"
			if cs.ProcMount != nil && *cs.ProcMount != corev1.DefaultProcMount {
				if !sandbox || p.spec.HostUsers == nil || *p.spec.HostUsers {
					t.Errorf("%s: procMount %s outside the worker's own user namespace", where, *cs.ProcMount)
				}
			}
			if prof := cs.SeccompProfile; prof != nil && prof.Type != corev1.SeccompProfileTypeRuntimeDefault {
				if !sandbox || prof.Type != corev1.SeccompProfileTypeLocalhost || prof.LocalhostProfile == nil || *prof.LocalhostProfile != "profiles/hintfleet-sandbox.json" {
					t.Errorf("%s: seccomp profile %+v; only the worker's sandbox profile may replace RuntimeDefault", where, prof)
				}
			}
		}
	}
}
