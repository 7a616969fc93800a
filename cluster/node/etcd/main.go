// Command etcd is the etcd server, built from the go.etcd.io/etcd/server/v3
// module (etcd's own main module uses relative replace directives, which
// cannot be built from the module proxy).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
