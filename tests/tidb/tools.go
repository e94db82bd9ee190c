//go:build tools

// Names the package scripts/build-tidb builds, so that go mod tidy keeps its dependencies.
package tidbbuild

import _ "github.com/pingcap/tidb/cmd/tidb-server"
