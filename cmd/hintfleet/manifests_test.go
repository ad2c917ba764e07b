package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
)

// The manifests are checked against the binary they run: every overlay is
// rendered, each hintfleet container's command line is parsed by this
// binary's own cobra commands, and what the parsed flags make the process
// listen on must be what the probes, Services and ServiceMonitors point
// at. The other images (etcd, NATS, vLLM) are read from their own flags
// or config file. Every Secret a pod mounts must be read through a flag
// or the config file, and every Secret in the environment must be a
// variable the process reads.

// rendered is one overlay's objects by kind.
type rendered struct {
	overlay    string
	pods       []podTemplate
	services   []corev1.Service
	configMaps map[string]corev1.ConfigMap
	monitors   []serviceMonitor
	// certSecrets are the Secrets cert-manager Certificates write: their
	// keys are tls.crt, tls.key and ca.crt, nothing else.
	certSecrets map[string]bool
}

type podTemplate struct {
	name   string
	labels map[string]string
	spec   corev1.PodSpec
}

type serviceMonitor struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port string `json:"port"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// renderOverlays renders every overlay with `make manifests`' renderer.
// It runs as its own process: kustomize imports Go's plugin package,
// which would link this test binary with immediate symbol binding, under
// which go-nvml's lazily resolved NVML symbols fail at start.
func renderOverlays(t *testing.T) []rendered {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to render the manifests with")
	}
	dir := t.TempDir()
	args := []string{"run"}
	if bi, ok := debug.ReadBuildInfo(); ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" }) {
		args = append(args, "-race") // reuse the race build of kustomize that `go test -race ./...` already made
	}
	render := exec.Command(goBin, append(args, "./manifests/render", "-root", "manifests", "-out", dir)...)
	render.Dir = filepath.Join("..", "..")
	if out, err := render.CombinedOutput(); err != nil {
		t.Fatalf("render manifests: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("rendered overlays: %v, %v", files, err)
	}
	var out []rendered
	for _, f := range files {
		o := strings.TrimSuffix(filepath.Base(f), ".yaml")
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := rendered{overlay: o, configMaps: map[string]corev1.ConfigMap{}, certSecrets: map[string]bool{}}
		for _, doc := range strings.Split(string(text), "\n---\n") {
			y := []byte(doc)
			var res struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(y, &res); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			decode := func(v any) {
				if err := yaml.Unmarshal(y, v); err != nil {
					t.Fatalf("%s: %s %s: %v", o, res.Kind, res.Metadata.Name, err)
				}
			}
			name := res.Kind + " " + res.Metadata.Name
			switch res.Kind {
			case "Deployment":
				var d appsv1.Deployment
				decode(&d)
				r.pods = append(r.pods, podTemplate{name, d.Spec.Template.Labels, d.Spec.Template.Spec})
			case "DaemonSet":
				var d appsv1.DaemonSet
				decode(&d)
				r.pods = append(r.pods, podTemplate{name, d.Spec.Template.Labels, d.Spec.Template.Spec})
			case "StatefulSet":
				var s appsv1.StatefulSet
				decode(&s)
				r.pods = append(r.pods, podTemplate{name, s.Spec.Template.Labels, s.Spec.Template.Spec})
			case "Service":
				var s corev1.Service
				decode(&s)
				r.services = append(r.services, s)
			case "ConfigMap":
				var c corev1.ConfigMap
				decode(&c)
				r.configMaps[c.Name] = c
			case "Certificate":
				var c struct {
					Spec struct {
						SecretName string `json:"secretName"`
					} `json:"spec"`
				}
				decode(&c)
				r.certSecrets[c.Spec.SecretName] = true
			case "ServiceMonitor":
				var sm serviceMonitor
				decode(&sm)
				r.monitors = append(r.monitors, sm)
			}
		}
		out = append(out, r)
	}
	return out
}

// process is what a container's command line makes it do.
type process struct {
	listens map[int]bool // TCP ports it listens on, reachable from the pod IP
	reads   []string     // file paths it reads (flags, config file)
	env     []string     // secret-carrying environment variables it reads
	cmd     *cobra.Command
}

// placeholders stand for the downward API values Kubernetes fills in.
var placeholders = map[string]string{"status.podIP": "10.0.0.7", "spec.nodeName": "node-a", "metadata.name": "pod-0", "metadata.namespace": "hintfleet"}

var refVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) as the kubelet does, from c's environment.
func expand(t *testing.T, where string, c corev1.Container, args []string) []string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			v, ok := placeholders[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				t.Errorf("%s: env %s: field %s has no test placeholder", where, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			env[e.Name] = v
		}
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = refVar.ReplaceAllStringFunc(a, func(m string) string {
			name := refVar.FindStringSubmatch(m)[1]
			v, ok := env[name]
			if !ok {
				t.Errorf("%s: %q refers to $(%s), which the container does not define", where, a, name)
			}
			return v
		})
	}
	return out
}

// inspect parses c's command line into the process it starts.
func inspect(t *testing.T, r rendered, where string, c corev1.Container) process {
	t.Helper()
	args := expand(t, where, c, slices.Concat(c.Command, c.Args))
	p := process{listens: map[int]bool{}}
	switch {
	case len(c.Command) > 0 && c.Command[0] == "hintfleet":
		hintfleetProcess(t, where, args[1:], &p)
	case strings.Contains(c.Image, "etcd"):
		for _, a := range args {
			name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			switch name {
			case "listen-client-urls", "listen-peer-urls", "listen-metrics-urls":
				for _, u := range strings.Split(val, ",") {
					p.listens[urlPort(t, where, u)] = true
				}
			case "cert-file", "key-file", "trusted-ca-file", "peer-cert-file", "peer-key-file", "peer-trusted-ca-file":
				p.reads = append(p.reads, val)
			}
		}
	case strings.HasPrefix(c.Image, "nats"):
		i := slices.Index(args, "--config")
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("%s: nats without --config", where)
		}
		conf := configFile(t, r, where, c, args[i+1])
		p.reads = append(p.reads, args[i+1])
		for _, m := range regexp.MustCompile(`(?m)^\s*(?:listen|http):\s*0\.0\.0\.0:(\d+)`).FindAllStringSubmatch(conf, -1) {
			n, _ := strconv.Atoi(m[1])
			p.listens[n] = true
		}
		for _, m := range regexp.MustCompile(`(?m)_file:\s*(\S+)`).FindAllStringSubmatch(conf, -1) {
			p.reads = append(p.reads, m[1])
		}
	case strings.HasPrefix(c.Image, "vllm/"):
		host, port := "0.0.0.0", 8000
		for _, a := range args {
			name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			switch name {
			case "host":
				host = strings.Fields(val)[0]
			case "port":
				port, _ = strconv.Atoi(val)
			}
		}
		if host == "0.0.0.0" || host == "::" {
			p.listens[port] = true
		}
		p.env = []string{"VLLM_API_KEY", "HF_TOKEN"}
	default:
		t.Fatalf("%s: image %s: the test does not know what it listens on; teach it", where, c.Image)
	}
	return p
}

// hintfleetProcess parses args with the binary's own command tree.
func hintfleetProcess(t *testing.T, where string, args []string, p *process) {
	t.Helper()
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Fatalf("%s: hintfleet %q: no such command (%v)", where, args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s: hintfleet %s: %v", where, cmd.CommandPath(), err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		t.Fatalf("%s: hintfleet %s: %v", where, cmd.CommandPath(), err)
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		t.Fatalf("%s: hintfleet %s: %v", where, cmd.CommandPath(), err)
	}
	p.cmd = cmd
	listenFlag := map[string]string{"coordinator": "listen", "worker": "metrics-listen", "exporter": "listen"}[cmd.Name()]
	if listenFlag != "" {
		addr := cmd.Flags().Lookup(listenFlag).Value.String()
		if addr != "" {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("%s: --%s %q: %v", where, listenFlag, addr, err)
			}
			n, _ := strconv.Atoi(port)
			if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
				t.Errorf("%s: --%s %s listens on loopback only: nothing outside the pod reaches it", where, listenFlag, addr)
			} else {
				p.listens[n] = true
			}
		}
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed && (strings.HasSuffix(f.Name, "-file") || strings.HasPrefix(f.Name, "tls-") || strings.HasPrefix(f.Name, "api-tls-") ||
			slices.Contains([]string{"nats-creds", "plugins-config", "api-tokens"}, f.Name)) {
			p.reads = append(p.reads, f.Value.String())
		}
	})
	p.env = []string{"HINTFLEET_ENGINE_API_KEY", cluster.EnvNATSToken, cluster.EnvNATSPassword, cluster.EnvEtcdPassword, coordinator.EnvAPIToken}
	if cmd.Name() == "coordinator" {
		p.env = append(p.env, coordinator.EnvAPITokens)
	}
}

// checkAPICredentials: a coordinator refuses to serve its API without
// credentials, and must not be told --insecure; its tokens come from a
// Secret (--api-tokens on a mounted Secret, or $HINTFLEET_API_TOKENS), or
// client certificates name roles.
func checkAPICredentials(t *testing.T, where string, c corev1.Container, cmd *cobra.Command) {
	t.Helper()
	changed := func(name string) bool { f := cmd.Flags().Lookup(name); return f != nil && f.Changed }
	if changed("insecure") {
		t.Errorf("%s: --insecure serves the API to anyone", where)
	}
	fromSecret := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == coordinator.EnvAPITokens && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
	})
	if !fromSecret && !changed("api-tokens") && !changed("api-cert-role") {
		t.Errorf("%s: the API has no credentials (no --api-tokens, $%s from a Secret or --api-cert-role): the coordinator would not start", where, coordinator.EnvAPITokens)
	}
}

func urlPort(t *testing.T, where, raw string) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %q: %v", where, raw, err)
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("%s: %q: no port", where, raw)
	}
	return n
}

// configFile returns the ConfigMap text mounted at path in c.
func configFile(t *testing.T, r rendered, where string, c corev1.Container, path string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if !strings.HasPrefix(path, m.MountPath+"/") {
			continue
		}
		for _, p := range r.pods {
			for _, v := range p.spec.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil {
					return r.configMaps[v.ConfigMap.Name].Data[strings.TrimPrefix(path, m.MountPath+"/")]
				}
			}
		}
	}
	t.Fatalf("%s: config %s is not a mounted ConfigMap", where, path)
	return ""
}

// port resolves a probe's or Service's port (a number or a container
// port's name) in c; 0 if it names no port of c.
func port(c corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

func TestManifestsRunTheBinary(t *testing.T) {
	for _, r := range renderOverlays(t) {
		t.Run(r.overlay, func(t *testing.T) {
			procs := map[string]map[string]process{} // pod → container → process
			for _, pod := range r.pods {
				procs[pod.name] = map[string]process{}
				mounted := map[string]bool{}
				for _, c := range pod.spec.Containers {
					where := fmt.Sprintf("%s: %s container %s", r.overlay, pod.name, c.Name)
					p := inspect(t, r, where, c)
					procs[pod.name][c.Name] = p
					// (b) every declared port and every probe is one it listens on.
					for _, cp := range c.Ports {
						if !p.listens[int(cp.ContainerPort)] {
							t.Errorf("%s: containerPort %s %d, but it listens on %v", where, cp.Name, cp.ContainerPort, keys(p.listens))
						}
					}
					for kind, pr := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
						if pr == nil || pr.HTTPGet == nil {
							continue
						}
						if n := port(c, pr.HTTPGet.Port); !p.listens[n] || pr.HTTPGet.Host != "" {
							t.Errorf("%s: %s probe on port %s (%d, host %q), but it listens on %v", where, kind, pr.HTTPGet.Port.String(), n, pr.HTTPGet.Host, keys(p.listens))
						}
					}
					// (c) every Secret it mounts is read through a flag or its config.
					for _, m := range c.VolumeMounts {
						vol := volume(pod.spec, m.Name)
						if vol == nil || vol.Secret == nil {
							continue
						}
						mounted[m.Name] = true
						if !slices.ContainsFunc(p.reads, func(f string) bool { return strings.HasPrefix(f, m.MountPath+"/") }) {
							t.Errorf("%s: mounts secret %s at %s, but reads nothing there (reads %v)", where, vol.Secret.SecretName, m.MountPath, p.reads)
						}
						for _, f := range p.reads {
							key, ok := strings.CutPrefix(f, m.MountPath+"/")
							if ok && r.certSecrets[vol.Secret.SecretName] && !slices.Contains([]string{"tls.crt", "tls.key", "ca.crt"}, key) {
								t.Errorf("%s: reads %s, but certificate secret %s holds only tls.crt, tls.key and ca.crt", where, f, vol.Secret.SecretName)
							}
						}
					}
					for _, e := range c.Env {
						if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !slices.Contains(p.env, e.Name) {
							t.Errorf("%s: secret %s in $%s, which the process does not read", where, e.ValueFrom.SecretKeyRef.Name, e.Name)
						}
					}
					if p.cmd != nil && p.cmd.Name() == "worker" {
						checkGrace(t, where, pod.spec, p.cmd)
					}
					if p.cmd != nil && p.cmd.Name() == "coordinator" {
						checkAPICredentials(t, where, c, p.cmd)
					}
				}
				for _, v := range pod.spec.Volumes {
					if v.Secret != nil && !mounted[v.Name] {
						t.Errorf("%s: %s: secret volume %s (%s) mounted by no container", r.overlay, pod.name, v.Name, v.Secret.SecretName)
					}
				}
			}
			// (b) every Service port reaches a listening port of the pods it selects.
			svcPort := map[string]map[string]bool{} // service → port names
			for _, svc := range r.services {
				svcPort[svc.Name] = map[string]bool{}
				selected := 0
				for _, pod := range r.pods {
					if !selects(svc.Spec.Selector, pod.labels) {
						continue
					}
					selected++
					for _, sp := range svc.Spec.Ports {
						svcPort[svc.Name][sp.Name] = true
						target := sp.TargetPort
						if target.Type == intstr.Int && target.IntValue() == 0 {
							target = intstr.FromInt32(sp.Port)
						}
						if !slices.ContainsFunc(pod.spec.Containers, func(c corev1.Container) bool {
							n := port(c, target)
							return n != 0 && procs[pod.name][c.Name].listens[n]
						}) {
							t.Errorf("%s: service %s port %s: targetPort %s is no port a container of %s listens on", r.overlay, svc.Name, sp.Name, target.String(), pod.name)
						}
					}
				}
				if selected == 0 {
					t.Errorf("%s: service %s selects no pod", r.overlay, svc.Name)
				}
			}
			// (b) every ServiceMonitor endpoint names a port of the Services it selects.
			for _, sm := range r.monitors {
				n := 0
				for _, svc := range r.services {
					if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) {
						continue
					}
					n++
					for _, ep := range sm.Spec.Endpoints {
						if !svcPort[svc.Name][ep.Port] {
							t.Errorf("%s: service monitor %s: service %s has no port %q", r.overlay, sm.Metadata.Name, svc.Name, ep.Port)
						}
					}
				}
				if n == 0 {
					t.Errorf("%s: service monitor %s selects no service", r.overlay, sm.Metadata.Name)
				}
			}
		})
	}
}

// checkGrace: Kubernetes must not kill a draining worker before its
// --drain-timeout, plus time to hand back what is left.
func checkGrace(t *testing.T, where string, spec corev1.PodSpec, cmd *cobra.Command) {
	t.Helper()
	drain, err := time.ParseDuration(cmd.Flags().Lookup("drain-timeout").Value.String())
	if err != nil {
		t.Fatal(err)
	}
	grace := 30 * time.Second // Kubernetes' default
	if spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	if grace < drain+15*time.Second || grace > drain+2*time.Minute {
		t.Errorf("%s: terminationGracePeriodSeconds %v for --drain-timeout %v: want the drain plus 15 s to 2 min to hand back", where, grace, drain)
	}
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
