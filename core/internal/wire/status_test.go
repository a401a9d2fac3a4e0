package wire

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestUnavailableCrossesTheBoundary: an error wrapping ErrUnavailable
// keeps its text and its meaning through the gRPC status the plugin
// answers with, while gRPC's own Unavailable (a plugin process gone) does
// not become ErrUnavailable: that is a crash, not an outage.
func TestUnavailableCrossesTheBoundary(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
		text        string
	}{
		{"outage", fmt.Errorf("postgres: write batch 3: connection refused (%w)", ErrUnavailable), true, "postgres: write batch 3: connection refused (unavailable)"},
		{"other failure", errors.New("table events does not exist"), false, "table events does not exist"},
		{"transport gone", status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing\""), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.err
			if _, ok := status.FromError(tt.err); !ok {
				st = StatusOf(tt.err)
			}
			got := UnwrapStatus(st)
			if errors.Is(got, ErrUnavailable) != tt.unavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", got, !tt.unavailable, tt.unavailable)
			}
			if tt.text != "" && got.Error() != tt.text {
				t.Errorf("text %q, want %q", got.Error(), tt.text)
			}
		})
	}
}

// TestEngineRetriesReachesThePlugin: the mark WithEngineRetry puts on a
// call is seen in process and, as gRPC metadata, on the plugin's side.
func TestEngineRetriesReachesThePlugin(t *testing.T) {
	ctx := WithEngineRetry(context.Background())
	if !EngineRetries(ctx) {
		t.Error("in process: EngineRetries false on a marked context")
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	server := metadata.NewIncomingContext(context.Background(), md)
	if !EngineRetries(server) {
		t.Error("over gRPC: EngineRetries false on the plugin's side of a marked call")
	}
	if EngineRetries(context.Background()) {
		t.Error("EngineRetries true on an unmarked context")
	}
}

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
		{"plugin says it cannot tell", StatusOf(fmt.Errorf("no backlog here: %w", errors.ErrUnsupported)), true},
		{"a real failure", StatusOf(errors.New("connect to db: refused")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(UnwrapStatus(tt.err), errors.ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupported) = %v, want %v", UnwrapStatus(tt.err), got, tt.unsupported)
			}
		})
	}
}
