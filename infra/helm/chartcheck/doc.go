// Package chartcheck holds the tests of the Helm chart in ../lockwell: what
// `helm lint` and `helm template` do, through helm's own Go packages
// (helm.sh/helm/v4), with no cluster and no download. It is a module of its
// own so that helm and the k8s.io modules stay out of Lockwell's build;
// `make test` runs it (cd infra/helm/chartcheck && go test ./...).
//
// The tests render the chart with value combinations (PostgreSQL, MySQL,
// an AWS KMS key) and assert on the decoded objects: the pod's security
// context, the probes, credentials only from secretKeyRef, the
// NetworkPolicy, and the errors that refuse configurations that cannot work.
package chartcheck
