package github_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate/legacy"
	_ "github.com/lockwell/lockwell/migrate/legacy/github"
	"github.com/lockwell/lockwell/shared/errcode"
)

func TestListsNamesAndReportsNotMigratable(t *testing.T) {
	var gotAuth bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		gotAuth = ok && user == "octocat" && pass == "ghp_test"
		require.Equal(t, "/repos/acme/ml/actions/secrets", r.URL.Path)
		require.Equal(t, "100", r.URL.Query().Get("per_page"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"total_count":3,"secrets":[
			{"name":"__ZENML__OPENAI","created_at":"2023-01-10T10:10:10Z","updated_at":"2023-01-10T10:10:10Z"},
			{"name":"__ZENML__MLFLOW_BASIC","created_at":"2023-01-10T10:10:10Z","updated_at":"2023-01-10T10:10:10Z"},
			{"name":"DEPLOY_KEY","created_at":"2023-01-10T10:10:10Z","updated_at":"2023-01-10T10:10:10Z"}]}`))
	}))
	defer srv.Close()
	t.Setenv("GITHUB_API_URL", srv.URL)
	t.Setenv("GITHUB_USERNAME", "octocat")
	t.Setenv("GITHUB_AUTHENTICATION_TOKEN", "ghp_test")
	u, err := legacy.FromComponent("github", []byte(`{"owner": "acme", "repository": "ml"}`), "")
	require.NoError(t, err)
	src, err := legacy.Open(context.Background(), u)
	require.NoError(t, err)
	items, err := src.List(context.Background())
	require.NoError(t, err)
	require.True(t, gotAuth)
	require.Len(t, items, 2)
	for i, name := range []string{"MLFLOW_BASIC", "OPENAI"} {
		require.Equal(t, name, items[i].Name)
		require.Equal(t, legacy.NotMigratable, items[i].Status)
		require.NotEmpty(t, items[i].Reason)
	}
	_, err = src.Read(context.Background(), "OPENAI")
	require.Equal(t, errcode.FailedPrecondition, errcode.Of(err))
	_, err = legacy.Open(context.Background(), "zenml-github://acme/ml?scope=global")
	require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}
