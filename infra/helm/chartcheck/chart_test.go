package chartcheck

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

// The value combinations every test renders: PostgreSQL with a key Secret,
// MySQL, and an AWS KMS key; each with the admin token from a Secret.
var combinations = map[string]string{
	"postgres": `
store: {kind: postgres, existingSecret: lockwell-db}
storeKey: {existingSecret: lockwell-store-key}
adminToken: {existingSecret: lockwell-admin-token}
`,
	"mysql": `
store: {kind: mysql, existingSecret: lockwell-mysql, urlKey: dsn, usernameKey: user, passwordKey: pass}
storeKey: {existingSecret: lockwell-store-key, secretKey: key}
adminToken: {existingSecret: lockwell-admin-token}
networkPolicy:
  databaseTo: [{ipBlock: {cidr: 10.0.5.0/24}}]
`,
	"kms": `
store: {kind: postgres, existingSecret: lockwell-db}
storeKey: {kmsURL: "awskms://alias/lockwell?region=eu-west-1"}
adminToken: {existingSecret: lockwell-admin-token}
serviceAccount:
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/lockwell"}
extraEnv: [{name: AWS_REGION, value: eu-west-1}]
`,
}

func TestChartLintsClean(t *testing.T) {
	for name, values := range combinations {
		t.Run(name, func(t *testing.T) {
			for _, m := range Lint(t, values) {
				t.Log(m)
				assert.Less(t, m.Severity, support.WarningSev, "helm lint: %s", m)
			}
		})
	}
}

// secretRef returns the Secret name and key an env variable comes from, or
// fails the test when it is not a secretKeyRef.
func secretRef(t *testing.T, env map[string]corev1.EnvVar, name string) (string, string) {
	t.Helper()
	e, ok := env[name]
	require.True(t, ok, "%s is set", name)
	require.Empty(t, e.Value, "%s is not a literal", name)
	require.NotNil(t, e.ValueFrom, name)
	require.NotNil(t, e.ValueFrom.SecretKeyRef, "%s comes from a Secret", name)
	return e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
}

func TestDeploymentIsLockedDownAndTakesCredentialsFromSecrets(t *testing.T) {
	for name, values := range combinations {
		t.Run(name, func(t *testing.T) {
			r := Render(t, values)
			d := r.Deployment(t)
			pod := d.Spec.Template.Spec
			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]

			// security
			ps := pod.SecurityContext
			require.NotNil(t, ps)
			assert.True(t, *ps.RunAsNonRoot)
			assert.Equal(t, int64(65532), *ps.RunAsUser)
			assert.Equal(t, int64(65532), *ps.FSGroup, "the user's group reads the mounted admin token")
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, ps.SeccompProfile.Type)
			sc := c.SecurityContext
			require.NotNil(t, sc)
			assert.True(t, *sc.RunAsNonRoot)
			assert.True(t, *sc.ReadOnlyRootFilesystem)
			assert.False(t, *sc.AllowPrivilegeEscalation)
			assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
			assert.Empty(t, sc.Capabilities.Add)
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
			assert.False(t, *pod.AutomountServiceAccountToken)

			// probes
			require.NotNil(t, c.LivenessProbe)
			assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			assert.Equal(t, "http", c.LivenessProbe.HTTPGet.Port.String())
			require.NotNil(t, c.ReadinessProbe)
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			assert.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port.String())
			require.Len(t, c.Ports, 1)
			assert.Equal(t, int32(8080), c.Ports[0].ContainerPort)

			// no argument, no literal that could be a credential
			assert.Empty(t, c.Command, "the image's entrypoint runs")
			assert.Empty(t, c.Args, "settings never travel in arguments")
			env := map[string]corev1.EnvVar{}
			for _, e := range c.Env {
				env[e.Name] = e
				assert.NotRegexp(t, `://[^/?#]*@`, e.Value, "%s has no user info in a URL", e.Name)
				assert.NotContains(t, strings.ToLower(e.Value), "password")
			}
			assert.Equal(t, "0.0.0.0:8080", env["LOCKWELL_ADDR"].Value)
			assert.NotContains(t, r.Manifest, "kind: Secret\n", "the chart creates no Secret: they exist beforehand")

			// the store and its credentials
			storeSecret, urlKey := secretRef(t, env, "LOCKWELL_STORE")
			user, pass := "PGUSER", "PGPASSWORD"
			if name == "mysql" {
				user, pass = "MYSQL_USER", "MYSQL_PWD"
				assert.Equal(t, [2]string{"lockwell-mysql", "dsn"}, [2]string{storeSecret, urlKey})
				assert.NotContains(t, env, "PGPASSWORD")
			} else {
				assert.Equal(t, [2]string{"lockwell-db", "url"}, [2]string{storeSecret, urlKey})
				assert.NotContains(t, env, "MYSQL_PWD")
			}
			s, _ := secretRef(t, env, user)
			assert.Equal(t, storeSecret, s)
			s, _ = secretRef(t, env, pass)
			assert.Equal(t, storeSecret, s)

			// the store key
			if name == "kms" {
				assert.Equal(t, "awskms://alias/lockwell?region=eu-west-1", env["LOCKWELL_KEY"].Value)
				assert.NotContains(t, env, "LOCKWELL_STORE_KEY")
				assert.Equal(t, "arn:aws:iam::123456789012:role/lockwell", r.ServiceAccount(t).Annotations["eks.amazonaws.com/role-arn"])
				assert.Equal(t, "eu-west-1", env["AWS_REGION"].Value)
			} else {
				assert.Equal(t, "envkey://LOCKWELL_STORE_KEY", env["LOCKWELL_KEY"].Value)
				s, _ := secretRef(t, env, "LOCKWELL_STORE_KEY")
				assert.Equal(t, "lockwell-store-key", s)
			}

			// the admin token: a read-only Secret file, no data volume
			assert.Equal(t, "/etc/lockwell/admin-token/token", env["LOCKWELL_ADMIN_TOKEN_FILE"].Value)
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m
			}
			assert.True(t, mounts["/etc/lockwell/admin-token"].ReadOnly)
			assert.Contains(t, mounts, "/tmp", "a writable /tmp on the read-only root")
			assert.NotContains(t, mounts, "/var/lib/lockwell", "nothing else is written")
			volumes := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				volumes[v.Name] = v
			}
			require.NotNil(t, volumes["admin-token"].Secret)
			assert.Equal(t, "lockwell-admin-token", volumes["admin-token"].Secret.SecretName)
			assert.Equal(t, int32(0o440), *volumes["admin-token"].Secret.DefaultMode)

			assert.NotEmpty(t, c.Resources.Requests, "resources are requested")
			assert.NotEmpty(t, c.Resources.Limits)
			assert.Equal(t, int32(2), *d.Spec.Replicas)
			assert.Equal(t, d.Spec.Selector.MatchLabels, r.Service(t).Spec.Selector, "the Service selects the pods")
			assert.Contains(t, r.Notes, "/readyz")
		})
	}
}

func TestNetworkPolicyAdmitsTheAPIAndLetsOutOnlyDNSAndTheDatabase(t *testing.T) {
	for name, values := range combinations {
		t.Run(name, func(t *testing.T) {
			r := Render(t, values)
			np := r.NetworkPolicy(t)
			assert.Equal(t, r.Deployment(t).Spec.Selector.MatchLabels, np.Spec.PodSelector.MatchLabels)
			assert.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes)
			require.Len(t, np.Spec.Ingress, 1)
			assert.Equal(t, "http", np.Spec.Ingress[0].Ports[0].Port.String())
			assert.Equal(t, []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1LabelSelector}}, np.Spec.Ingress[0].From, "default: pods of the namespace")

			ports := map[int32]bool{}
			var dbRule networkingv1.NetworkPolicyEgressRule
			for _, rule := range np.Spec.Egress {
				for _, p := range rule.Ports {
					ports[p.Port.IntVal] = true
					if p.Port.IntVal == 5432 || p.Port.IntVal == 3306 {
						dbRule = rule
					}
				}
			}
			want := map[int32]bool{53: true, 5432: true}
			switch name {
			case "mysql":
				want = map[int32]bool{53: true, 3306: true}
				require.Len(t, dbRule.To, 1)
				assert.Equal(t, "10.0.5.0/24", dbRule.To[0].IPBlock.CIDR)
			case "kms":
				want[443] = true
			}
			assert.Equal(t, want, ports)
		})
	}
}

func TestServiceMonitorIsOffByDefault(t *testing.T) {
	r := Render(t, combinations["postgres"])
	assert.NotContains(t, r.Kinds(), "ServiceMonitor")
	r = Render(t, combinations["postgres"]+"serviceMonitor: {enabled: true}\n")
	sm := r.Object(t, "ServiceMonitor")
	endpoints := sm["spec"].(map[string]any)["endpoints"].([]any)
	require.Len(t, endpoints, 1)
	assert.Equal(t, "/metrics", endpoints[0].(map[string]any)["path"])
	assert.Equal(t, "http", endpoints[0].(map[string]any)["port"])
}

func TestFirstStartTokenNeedsOneReplicaAndAVolume(t *testing.T) {
	base := "store: {existingSecret: lockwell-db}\nstoreKey: {existingSecret: k}\n"
	err := RenderError(t, base)
	assert.Contains(t, err, "without adminToken.existingSecret every replica would mint its own admin token")

	r := Render(t, base+"replicaCount: 1\npersistence: {existingClaim: lockwell-data}\n")
	d := r.Deployment(t)
	assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type, "never two pods on one admin.token")
	c := d.Spec.Template.Spec.Containers[0]
	var data *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if m.MountPath == "/var/lib/lockwell" {
			data = &c.VolumeMounts[i]
		}
	}
	require.NotNil(t, data, "the data directory is a volume")
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == data.Name {
			require.NotNil(t, v.PersistentVolumeClaim)
			assert.Equal(t, "lockwell-data", v.PersistentVolumeClaim.ClaimName)
		}
	}
	for _, e := range c.Env {
		assert.NotEqual(t, "LOCKWELL_ADMIN_TOKEN_FILE", e.Name)
	}
	assert.Contains(t, r.Notes, "admin.token")
}

// The manifest, for reading with -v.
func TestRenderedManifest(t *testing.T) {
	r := Render(t, combinations["postgres"])
	t.Log(r.Manifest)
	t.Log(r.Notes)
	assert.ElementsMatch(t, []string{"Deployment", "NetworkPolicy", "Service", "ServiceAccount"}, r.Kinds())
}

func TestBadValuesFailWithAClearMessage(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{"storeKey: {existingSecret: k}\nadminToken: {existingSecret: a}\n", "store.existingSecret is required"},
		{"store: {kind: sqlite, existingSecret: db}\nstoreKey: {existingSecret: k}\nadminToken: {existingSecret: a}\n", "/store/kind"},
		{"store: {existingSecret: db}\nadminToken: {existingSecret: a}\n", "the store key is required"},
		{"store: {existingSecret: db}\nstoreKey: {existingSecret: k, kmsURL: 'awskms://alias/x'}\nadminToken: {existingSecret: a}\n", "not both"},
		{"store: {existingSecret: db}\nstoreKey: {kmsURL: 'gcpkms://x'}\nadminToken: {existingSecret: a}\n", "kmsURL"},
		{"store: {existingSecret: db}\nstoreKey: {existingSecret: k}\nadminToken: {existingSecret: a}\nreplicaCount: two\n", "replicaCount"},
		{"store: {existingSecret: db}\nstoreKey: {existingSecret: k}\nadminToken: {existingSecret: a}\nextraEnv: [{value: x}]\n", "name"},
	} {
		assert.Contains(t, RenderError(t, tc.values), tc.want)
	}
}
