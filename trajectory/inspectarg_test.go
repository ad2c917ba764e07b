package trajectory

import (
	"context"
	"errors"
	"testing"
)

// TestInspectArg: a named dataset is inspected from the binary; a name
// that is neither a file nor a dataset is ErrUnknownDataset.
func TestInspectArg(t *testing.T) {
	in, err := InspectArg(context.Background(), "aime24", "", "")
	if err != nil || in.Rows == 0 {
		t.Fatalf("InspectArg aime24 = %+v, %v", in, err)
	}
	if _, err := InspectArg(context.Background(), "no-such-dataset", "", ""); !errors.Is(err, ErrUnknownDataset) {
		t.Errorf("unknown name: %v", err)
	}
}
