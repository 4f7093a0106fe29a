package chartcheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
)

// chartDir is the chart under test.
const chartDir = "../lockwell"

// namespace and releaseName are what the tests install as, kubeVersion the
// cluster's version (helm's default in a test binary, 1.20, is older than
// the chart supports).
const (
	namespace   = "secrets"
	releaseName = "lw"
	kubeVersion = "v1.31.0"
)

func capabilities(t *testing.T) *common.Capabilities {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	require.NoError(t, err)
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return caps
}

var metav1LabelSelector = metav1.LabelSelector{}

func parseValues(t *testing.T, values string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(values), &vals))
	return vals
}

// Lint runs `helm lint` on the chart with values and returns its messages.
func Lint(t *testing.T, values string) []support.Message {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	require.NoError(t, err)
	return lint.RunAll(chartDir, parseValues(t, values), namespace, lint.WithKubeVersion(kv)).Messages
}

func load(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	require.NoError(t, err)
	return ch
}

// rendered is what `helm template` renders: the manifest (every template
// but NOTES.txt, in name order, as documents) and the notes.
type rendered struct {
	manifest, notes string
}

// render is `helm template` with values, done as helm's install action does
// it client-side: the kubeVersion check, the values coalesced with the
// chart's and checked against a schema if it has one, then the engine.
func render(t *testing.T, values string) (rendered, error) {
	t.Helper()
	ch := load(t)
	caps := capabilities(t)
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return rendered{}, fmt.Errorf("chart requires kubeVersion %s, not %s", ch.Metadata.KubeVersion, caps.KubeVersion)
	}
	opts := common.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	vals, err := util.ToRenderValuesWithSchemaValidation(ch, parseValues(t, values), opts, caps, false)
	if err != nil {
		return rendered{}, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return rendered{}, err
	}
	var r rendered
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		switch {
		case name == ch.Name()+"/templates/NOTES.txt":
			r.notes = files[name]
		case strings.TrimSpace(files[name]) != "":
			r.manifest += "---\n# Source: " + name + "\n" + files[name] + "\n"
		}
	}
	return r, nil
}

// Rendered is the chart rendered with one set of values.
type Rendered struct {
	Manifest string
	Notes    string
	docs     []map[string]any
	raw      []string
}

// Render renders the chart and fails the test if it does not render.
func Render(t *testing.T, values string) Rendered {
	t.Helper()
	rel, err := render(t, values)
	require.NoError(t, err)
	r := Rendered{Manifest: rel.manifest, Notes: rel.notes}
	for _, doc := range strings.Split(rel.manifest, "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := map[string]any{}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		if len(obj) == 0 {
			continue
		}
		r.docs = append(r.docs, obj)
		r.raw = append(r.raw, doc)
	}
	return r
}

// RenderError renders the chart, requires it to fail, and returns the error.
func RenderError(t *testing.T, values string) string {
	t.Helper()
	_, err := render(t, values)
	require.Error(t, err)
	return err.Error()
}

// Kinds lists the kinds of the rendered objects.
func (r Rendered) Kinds() []string {
	var kinds []string
	for _, d := range r.docs {
		kinds = append(kinds, d["kind"].(string))
	}
	return kinds
}

// Object returns the one object of a kind, as a map.
func (r Rendered) Object(t *testing.T, kind string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, d := range r.docs {
		if d["kind"] == kind {
			found = append(found, d)
		}
	}
	require.Len(t, found, 1, "one %s", kind)
	return found[0]
}

// decode decodes the one object of a kind into out, strictly: a field the
// Kubernetes type does not have fails the test.
func (r Rendered) decode(t *testing.T, kind string, out any) {
	t.Helper()
	for i, d := range r.docs {
		if d["kind"] == kind {
			require.NoError(t, yaml.UnmarshalStrict([]byte(r.raw[i]), out), kind)
			return
		}
	}
	t.Fatalf("no %s rendered; kinds: %v", kind, r.Kinds())
}

func (r Rendered) Deployment(t *testing.T) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	r.Object(t, "Deployment")
	r.decode(t, "Deployment", d)
	return d
}

func (r Rendered) Service(t *testing.T) *corev1.Service {
	s := &corev1.Service{}
	r.decode(t, "Service", s)
	return s
}

func (r Rendered) ServiceAccount(t *testing.T) *corev1.ServiceAccount {
	s := &corev1.ServiceAccount{}
	r.decode(t, "ServiceAccount", s)
	return s
}

func (r Rendered) NetworkPolicy(t *testing.T) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{}
	r.decode(t, "NetworkPolicy", np)
	return np
}
