package httpapi

import (
	"net/http"

	"github.com/lockwell/lockwell/shared/errcode"
)

// GET /api/v1/secrets/by-name/{name} reads a secret by its name, values
// included, as store.Lookup resolves names (and the CLI and {{name.key}}
// references do): the caller's private secret of that name if there is
// one, else the public one. It answers exactly what GET /api/v1/secrets/{id}
// answers for that secret (200, the secret with a "values" object, ETag),
// 404 not_found in the API's error format when the caller sees no secret
// of that name, and 400 for a name that is not valid or any query
// parameter.
//
// It is the route External Secrets Operator's generic webhook provider
// calls (url: .../api/v1/secrets/by-name/{{ .remoteRef.key }}), extracting
// values with JSONPath ($.values, or $.values["KEY"] for one key); the
// provider treats 404 as a deleted secret. See the README.

// OpGetByName is the operation of GET /api/v1/secrets/by-name/{name}.
const OpGetByName = "get_by_name"

const pathByName = "/api/v1/secrets/by-name/{name}"

// servedWith maps an operation to the per-operation function that serves it
// besides its own (Operation): reading by name and the history are gets,
// rollback and restore are updates, deployed with them and needing the same
// permissions.
var servedWith = map[string]string{
	OpGetByName: OpGet,
	OpVersions:  OpGet,
	OpRollback:  OpUpdate,
	OpRestore:   OpUpdate,
}

// getByName serves GET /api/v1/secrets/by-name/{name}.
func (a *API) getByName(w http.ResponseWriter, r *http.Request, rec *record) error {
	if r.URL.RawQuery != "" {
		return errcode.New(errcode.InvalidArgument, "GET by name takes no query parameters")
	}
	sec, err := a.st.Lookup(r.Context(), rec.principal, r.PathValue("name"))
	if err != nil {
		return err
	}
	rec.secretID = sec.ID
	values := sec.Values
	if values == nil {
		values = map[string]string{}
	}
	w.Header().Set("ETag", etag(sec.Version))
	writeJSON(w, http.StatusOK, secretJSON{metadataOf(sec), values})
	return nil
}
