// Package all links every legacy flavor's reader; import it for its side
// effect in binaries that accept any source URL.
package all

import (
	_ "github.com/lockwell/lockwell/migrate/legacy/awssm"       // zenml-aws
	_ "github.com/lockwell/lockwell/migrate/legacy/azurekv"     // zenml-azure
	_ "github.com/lockwell/lockwell/migrate/legacy/gcpsm"       // zenml-gcp
	_ "github.com/lockwell/lockwell/migrate/legacy/github"      // zenml-github
	_ "github.com/lockwell/lockwell/migrate/legacy/local"       // zenml-local
	_ "github.com/lockwell/lockwell/migrate/legacy/vaultkv"     // zenml-vault
	_ "github.com/lockwell/lockwell/migrate/legacy/zenmlserver" // zenml-server
	_ "github.com/lockwell/lockwell/migrate/legacy/zenmlsql"    // zenml-sql
)
