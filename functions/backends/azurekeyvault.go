//go:build lockwell_azurekeyvault

package backends

import _ "github.com/lockwell/lockwell/shared/valuestore/azurekeyvault" // azurekeyvault://
