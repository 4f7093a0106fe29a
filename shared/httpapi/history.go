package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/store"
)

// versions serves GET /api/v1/secrets/{id}/versions.
func (a *API) versions(w http.ResponseWriter, r *http.Request, rec *record) error {
	vs, err := a.st.Versions(r.Context(), rec.principal, r.PathValue("id"))
	if err != nil {
		return err
	}
	rec.secretID = r.PathValue("id")
	writeJSON(w, http.StatusOK, struct {
		Items []store.Version `json:"items"`
	}{vs})
	return nil
}

// rollback serves POST /api/v1/secrets/{id}/rollback {"version": N}.
func (a *API) rollback(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req store.RollbackRequest
	err = decodeObject(body, func(name string, dec *json.Decoder) error {
		if name != "version" {
			return unknownField(name, "version")
		}
		var v int64
		if err := dec.Decode(&v); err != nil || v < 1 {
			return errcode.New(errcode.InvalidArgument, "version must be a positive integer")
		}
		req.Version = v
		return nil
	})
	if err != nil {
		return err
	}
	if req.Version == 0 {
		return errcode.New(errcode.InvalidArgument, "version is required: the version to roll back to")
	}
	if req.IfMatch, err = ifMatch(r); err != nil {
		return err
	}
	sec, err := a.st.Rollback(r.Context(), rec.principal, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	rec.secretID = sec.ID
	w.Header().Set("ETag", etag(sec.Version))
	writeJSON(w, http.StatusOK, metadataOf(sec))
	return nil
}

// restore serves POST /api/v1/secrets/{id}/restore {"name"?}: an empty body
// restores under the secret's own name.
func (a *API) restore(w http.ResponseWriter, r *http.Request, rec *record) error {
	var req store.RestoreRequest
	if r.ContentLength != 0 {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		if err := decodeObject(body, func(name string, dec *json.Decoder) error {
			if name != "name" {
				return unknownField(name, "name")
			}
			s, err := readString(dec, "name")
			req.Name = &s
			return err
		}); err != nil {
			return err
		}
	}
	var err error
	if req.IfMatch, err = ifMatch(r); err != nil {
		return err
	}
	sec, err := a.st.Restore(r.Context(), rec.principal, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	rec.secretID = sec.ID
	w.Header().Set("ETag", etag(sec.Version))
	writeJSON(w, http.StatusOK, metadataOf(sec))
	return nil
}

// versionParam parses ?version=N of a get; 0 when absent.
func versionParam(r *http.Request) (int64, error) {
	q := r.URL.Query()
	if !q.Has("version") {
		return 0, nil
	}
	v, err := strconv.ParseInt(q.Get("version"), 10, 64)
	if err != nil || v < 1 || len(q["version"]) > 1 {
		return 0, errcode.New(errcode.InvalidArgument, "version must be one positive integer")
	}
	return v, nil
}

// boolParam parses a true/false query parameter.
func boolParam(name, v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errcode.New(errcode.InvalidArgument, "%s must be true or false", name)
}

// purgeExpired serves POST /api/v1/admin/purge (admins): destroys the
// deleted secrets whose recovery window has ended, and answers how many.
// Google Cloud Scheduler calls it on a schedule (infra/gcp); on AWS a
// scheduled function calls the store directly.
func (a *API) purgeExpired(w http.ResponseWriter, r *http.Request, rec *record) error {
	if !rec.principal.IsAdmin() {
		return errcode.New(errcode.PermissionDenied, "only admins can purge expired secrets")
	}
	if r.ContentLength > 0 {
		return errcode.New(errcode.InvalidArgument, "POST /api/v1/admin/purge takes no body")
	}
	n, err := a.st.PurgeExpired(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Purged int `json:"purged"`
	}{n})
	return nil
}
