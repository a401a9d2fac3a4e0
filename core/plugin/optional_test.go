package plugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"etl/core/plugin/pb"
)

// TestOptionalMethodsOfOldPlugins: a plugin that lacks an optional method
// (Backlog, Status), or says it cannot tell, reaches the engine as an
// error wrapping errors.ErrUnsupported; other errors do not.
func TestOptionalMethodsOfOldPlugins(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unsupported bool
	}{
		{"plugin built before the method", status.Error(codes.Unimplemented, "method Backlog not implemented"), true},
		{"plugin says it cannot tell", statusOf(fmt.Errorf("no backlog here: %w", errors.ErrUnsupported)), true},
		{"a real failure", statusOf(errors.New("connect to db: refused")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(unwrapStatus(tt.err), errors.ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupported) = %v, want %v", unwrapStatus(tt.err), got, tt.unsupported)
			}
		})
	}
}

type plainSource struct{ Source }
type plainSink struct{ Sink }

func TestServersWithoutOptionalMethodsAnswerUnimplemented(t *testing.T) {
	ctx := context.Background()
	_, err := (&sourceServer{impl: plainSource{}}).Backlog(ctx, &pb.BacklogRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Backlog of a source without it: %v, want Unimplemented", err)
	}
	_, err = (&sinkServer{impl: plainSink{}}).Status(ctx, &pb.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Status of a sink without it: %v, want Unimplemented", err)
	}
}

func TestBacklogCrossesTheWire(t *testing.T) {
	for _, b := range []*Backlog{nil, {}, {Partitions: 3, Bytes: 1 << 40}, {Quarantined: 2, Unreadable: []string{"a.csv", "b\xff.csv"}}} {
		got := backlogFromPB(backlogToPB(b))
		if (got == nil) != (b == nil) || (b != nil && !reflect.DeepEqual(got, b)) {
			t.Errorf("backlog %+v came back as %+v", b, got)
		}
	}
}
