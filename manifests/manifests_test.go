package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizations are every buildable root: base and every overlay.
func kustomizations(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	var overlays []string
	for _, e := range ents {
		if e.IsDir() {
			overlays = append(overlays, e.Name())
		}
	}
	if len(overlays) < 2 {
		t.Fatalf("overlays = %v, want single-node and production at least", overlays)
	}
	out := []string{"base"}
	for _, o := range overlays {
		out = append(out, "overlays/"+o)
	}
	return out
}

// object is one decoded resource of a build.
type object struct {
	kind, name string
	value      any
}

// newObject maps apiVersion/kind to the Go type a strict decode targets.
// An unknown kind fails the test: every kind we ship is checked.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}, nil
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &serviceMonitor{}, nil
	case "cert-manager.io/v1/Certificate":
		return &certificate{}, nil
	case "cert-manager.io/v1/Issuer":
		return &issuer{}, nil
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	}
	return nil, fmt.Errorf("unknown kind %s %s", apiVersion, kind)
}

// build runs kustomize on dir and decodes every object strictly: a field
// the Go type does not know (a typo, a wrong indent) fails the build.
func build(t *testing.T, dir string) []object {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []object
	for _, r := range resMap.Resources() {
		where := fmt.Sprintf("%s: %s %s", dir, r.GetKind(), r.GetName())
		v, err := newObject(r.GetApiVersion(), r.GetKind())
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: to yaml: %v", where, err)
		}
		if err := yaml.UnmarshalStrict(y, v); err != nil {
			t.Errorf("%s: strict decode: %v", where, err)
			continue
		}
		if sm, ok := v.(*serviceMonitor); ok {
			if err := sm.validate(); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
		objs = append(objs, object{kind: r.GetKind(), name: r.GetName(), value: v})
	}
	return objs
}

func find[T any](t *testing.T, objs []object, kind, name string) T {
	t.Helper()
	for _, o := range objs {
		if o.kind == kind && o.name == name {
			return o.value.(T)
		}
	}
	t.Fatalf("no %s %s in build", kind, name)
	var zero T
	return zero
}

func all[T any](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.value.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestKustomizationsBuildAndDecodeStrictly(t *testing.T) {
	for _, dir := range kustomizations(t) {
		t.Run(dir, func(t *testing.T) {
			objs := build(t, dir)
			checkTopology(t, objs)
			checkRBAC(t, objs)
			checkNetworkPolicies(t, objs)
			checkServiceMonitorTargets(t, objs)
			checkCertificates(t, objs)
			checkHardening(t, objs)
		})
	}
}

func checkTopology(t *testing.T, objs []object) {
	t.Helper()
	coord := find[*appsv1.Deployment](t, objs, "Deployment", "hintfleet-coordinator")
	if coord.Spec.Replicas == nil || *coord.Spec.Replicas != 2 {
		t.Errorf("coordinator replicas = %v, want 2", coord.Spec.Replicas)
	}
	if c := coord.Spec.Template.Spec.Containers[0]; c.Args[0] != "coordinator" || !hasPrefix(c.Args, "--etcd=") || !hasPrefix(c.Args, "--nats=") {
		t.Errorf("coordinator args = %q, want coordinator --etcd=… --nats=…", c.Args)
	}
	checkSharedData(t, objs, coord)

	for _, name := range []string{"etcd", "nats"} {
		sts := find[*appsv1.StatefulSet](t, objs, "StatefulSet", name)
		if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
			t.Errorf("%s replicas = %v, want 3", name, sts.Spec.Replicas)
		}
		svc := find[*corev1.Service](t, objs, "Service", sts.Spec.ServiceName)
		if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("%s governing service %s is not headless", name, svc.Name)
		}
		if len(sts.Spec.VolumeClaimTemplates) == 0 {
			t.Errorf("%s has no persistent volume", name)
		}
	}
	etcd := find[*appsv1.StatefulSet](t, objs, "StatefulSet", "etcd")
	for _, flag := range []string{"--peer-client-cert-auth=true", "--client-cert-auth=true"} {
		if !slices.Contains(etcd.Spec.Template.Spec.Containers[0].Args, flag) {
			t.Errorf("etcd lacks %s", flag)
		}
	}

	// NATS: JetStream on file storage, on the PVC, fsync on every write.
	nats := find[*appsv1.StatefulSet](t, objs, "StatefulSet", "nats")
	cfg := find[*corev1.ConfigMap](t, objs, "ConfigMap", "nats-config").Data["nats.conf"]
	for _, want := range []string{"store_dir: /data/jetstream", "sync_interval: always", "routes: ["} {
		if !strings.Contains(cfg, want) {
			t.Errorf("nats.conf lacks %q", want)
		}
	}
	if !mounts(nats.Spec.Template.Spec.Containers[0], nats.Spec.VolumeClaimTemplates[0].Name, "/data") {
		t.Errorf("nats does not mount its PVC at /data, so JetStream would not be on file storage")
	}

	ds := find[*appsv1.DaemonSet](t, objs, "DaemonSet", "hintfleet-worker")
	spec := ds.Spec.Template.Spec
	var gpus int64
	var engine, worker *corev1.Container
	for i, c := range spec.Containers {
		gpus += c.Resources.Limits.Name("nvidia.com/gpu", "").Value()
		switch {
		case strings.HasPrefix(c.Image, "vllm/vllm-openai"):
			engine = &spec.Containers[i]
		case len(c.Args) > 0 && c.Args[0] == "worker":
			worker = &spec.Containers[i]
		}
	}
	if gpus < 1 {
		t.Errorf("worker pod requests %d nvidia.com/gpu, want >= 1", gpus)
	}
	if engine == nil || !slices.Contains(engine.Args, "--port=8000") || !hasPrefix(engine.Args, "--model=") {
		t.Errorf("worker pod has no vLLM engine on port 8000 with --model")
	}
	if worker == nil || !slices.Contains(worker.Args, "--engine=http://127.0.0.1:8000") {
		t.Errorf("worker pod has no worker container using the local engine")
	}
	if len(spec.NodeSelector) == 0 || len(spec.Tolerations) == 0 {
		t.Errorf("worker is not pinned to GPU nodes: nodeSelector %v, tolerations %v", spec.NodeSelector, spec.Tolerations)
	}
}

func hasPrefix(args []string, prefix string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

func mounts(c corev1.Container, volume, path string) bool {
	return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == volume && m.MountPath == path
	})
}

// checkRBAC: no wildcards, no secrets, no cluster-wide grants.
func checkRBAC(t *testing.T, objs []object) {
	t.Helper()
	for _, o := range objs {
		if o.kind == "ClusterRole" || o.kind == "ClusterRoleBinding" {
			t.Errorf("%s %s: cluster-wide RBAC is more than hintfleet needs", o.kind, o.name)
		}
	}
	for _, r := range all[*rbacv1.Role](objs) {
		for _, rule := range r.Rules {
			for _, s := range slices.Concat(rule.Verbs, rule.Resources, rule.APIGroups) {
				if s == "*" {
					t.Errorf("role %s uses a wildcard: %+v", r.Name, rule)
				}
			}
			if slices.Contains(rule.Resources, "secrets") {
				t.Errorf("role %s reads secrets", r.Name)
			}
			for _, v := range rule.Verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("role %s may %s %v; hintfleet only reads", r.Name, v, rule.Resources)
				}
			}
		}
	}
	for _, name := range []string{"etcd", "nats"} {
		sa := find[*corev1.ServiceAccount](t, objs, "ServiceAccount", name)
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("service account %s mounts an API token it does not need", name)
		}
	}
}

// checkNetworkPolicies: default deny; etcd and NATS only from coordinator,
// worker and their own members; the engine port from nowhere.
func checkNetworkPolicies(t *testing.T, objs []object) {
	t.Helper()
	deny := find[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", "default-deny-ingress")
	if len(deny.Spec.PodSelector.MatchLabels) != 0 || len(deny.Spec.Ingress) != 0 {
		t.Errorf("default-deny-ingress does not deny all ingress: %+v", deny.Spec)
	}
	for _, np := range all[*networkingv1.NetworkPolicy](objs) {
		app := np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"]
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.IntValue() == 8000 {
					t.Errorf("policy %s opens the engine port 8000", np.Name)
				}
			}
			if app != "etcd" && app != "nats" {
				continue
			}
			for _, peer := range rule.From {
				from := ""
				if peer.PodSelector != nil {
					from = peer.PodSelector.MatchLabels["app.kubernetes.io/name"]
				}
				if peer.IPBlock != nil || peer.NamespaceSelector != nil ||
					!slices.Contains([]string{"hintfleet-coordinator", "hintfleet-worker", app}, from) {
					t.Errorf("policy %s lets %+v reach %s", np.Name, peer, app)
				}
			}
		}
	}
}

// checkServiceMonitorTargets: every ServiceMonitor selects a Service that
// has the port it scrapes.
func checkServiceMonitorTargets(t *testing.T, objs []object) {
	t.Helper()
	for _, sm := range all[*serviceMonitor](objs) {
		matched := 0
		for _, svc := range all[*corev1.Service](objs) {
			if !labelsMatch(svc.Labels, sm.Spec.Selector.MatchLabels) {
				continue
			}
			matched++
			for _, ep := range sm.Spec.Endpoints {
				if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					t.Errorf("service monitor %s: service %s has no port %q", sm.Metadata.Name, svc.Name, ep.Port)
				}
			}
		}
		if matched == 0 {
			t.Errorf("service monitor %s selects no service", sm.Metadata.Name)
		}
	}
}

func labelsMatch(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkSharedData: the coordinators' --data is one ReadWriteMany claim that
// every replica mounts, so a new leader on another node has the output.
func checkSharedData(t *testing.T, objs []object, coord *appsv1.Deployment) {
	t.Helper()
	c := coord.Spec.Template.Spec.Containers[0]
	data := ""
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--data="); ok {
			data = v
		}
	}
	if data == "" {
		t.Fatalf("coordinator has no --data")
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath != data {
			continue
		}
		for _, v := range coord.Spec.Template.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.PersistentVolumeClaim == nil {
				t.Fatalf("coordinator --data %s is volume %s, not a claim the replicas share", data, v.Name)
			}
			pvc := find[*corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName)
			if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
				t.Errorf("claim %s of --data: access modes %v, want ReadWriteMany", pvc.Name, pvc.Spec.AccessModes)
			}
			return
		}
	}
	t.Errorf("coordinator --data %s is on no mounted volume (the container's own filesystem)", data)
}
