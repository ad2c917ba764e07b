package manifests

import (
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serviceMonitor is the part of monitoring.coreos.com/v1 ServiceMonitor we
// use. k8s.io/api has no type for it and importing the Prometheus
// Operator's module for one struct is not worth it; a strict decode into
// this subset still rejects misspelt or misplaced fields, and validate
// checks what the operator would.
type serviceMonitor struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
			HonorLabels   bool   `json:"honorLabels,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// promDuration is the operator's Duration pattern, simplified to one unit.
var promDuration = regexp.MustCompile(`^[0-9]+(ms|s|m|h)$`)

func (sm *serviceMonitor) validate() error {
	if sm.Metadata.Name == "" {
		return fmt.Errorf("service monitor: no name")
	}
	if len(sm.Spec.Selector.MatchLabels) == 0 && len(sm.Spec.Selector.MatchExpressions) == 0 {
		return fmt.Errorf("service monitor %s: empty selector would scrape every service", sm.Metadata.Name)
	}
	if len(sm.Spec.Endpoints) == 0 {
		return fmt.Errorf("service monitor %s: no endpoints", sm.Metadata.Name)
	}
	for i, ep := range sm.Spec.Endpoints {
		if ep.Port == "" {
			return fmt.Errorf("service monitor %s: endpoints[%d]: no port name", sm.Metadata.Name, i)
		}
		for field, d := range map[string]string{"interval": ep.Interval, "scrapeTimeout": ep.ScrapeTimeout} {
			if d != "" && !promDuration.MatchString(d) {
				return fmt.Errorf("service monitor %s: endpoints[%d].%s %q: not a duration", sm.Metadata.Name, i, field, d)
			}
		}
		if ep.Scheme != "" && ep.Scheme != "http" && ep.Scheme != "https" {
			return fmt.Errorf("service monitor %s: endpoints[%d].scheme %q", sm.Metadata.Name, i, ep.Scheme)
		}
	}
	return nil
}
