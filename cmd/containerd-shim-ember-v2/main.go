// Command containerd-shim-ember-v2 is ember's containerd runtime shim
// (runtime io.containerd.ember.v2): containerd starts it for each
// container, and it runs the container in an ember VM of its own with the
// ember binary installed beside it (docs/kubernetes.md).
package main

import (
	cshim "github.com/containerd/containerd/runtime/v2/shim"

	"github.com/embervm/ember/shim"
)

func main() {
	cshim.Run(shim.RuntimeName, shim.New)
}
