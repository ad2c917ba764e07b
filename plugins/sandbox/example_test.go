package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

// A tool runs model-written shell code: as nobody, in /tmp, with no
// network, a read-only root and a wall-clock limit.
func Example() {
	ctx := context.Background()
	sb, err := sandbox.New(ctx, sandbox.WithLimits(sandbox.Limits{Timeout: 5 * time.Second}))
	if err != nil {
		log.Fatal(err) // errors.Is(err, sandbox.ErrNoSandbox): no usable bubblewrap
	}
	code := `echo "uid $UID in $PWD"
echo x > /etc/evil 2>/dev/null || echo "/etc is read-only"
(exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null || echo "no network"
exit 3`
	out, err := sb.Command(ctx, "/bin/bash", "-c", code).Output()
	fmt.Print(string(out))
	var exit *sandbox.ExitError
	if errors.As(err, &exit) {
		fmt.Println("exit status", exit.Code)
	}

	cmd := sb.Command(ctx, "/bin/bash", "-c", "while :; do :; done")
	cmd.Timeout = 100 * time.Millisecond
	fmt.Println(errors.Is(cmd.Run(), sandbox.ErrTimeout))
	// Output:
	// uid 65534 in /tmp
	// /etc is read-only
	// no network
	// exit status 3
	// true
}
