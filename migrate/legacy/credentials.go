package legacy

import (
	"os"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// EnvOrFile returns a credential the way the ZenML readers take them: the
// environment variable name, else the contents of the file that name_FILE
// names (without a trailing newline), else "". Credentials never come from
// a URL or argv. Errors: invalid_argument when the file cannot be read (the
// message names the variable and path, never the contents).
func EnvOrFile(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	path := os.Getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", errcode.New(errcode.InvalidArgument, "cannot read %s_FILE %s", name, path)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
