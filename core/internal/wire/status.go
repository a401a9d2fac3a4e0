package wire

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ErrUnavailable is plugin.ErrUnavailable (see there): an outside system
// that cannot be reached for now.
var ErrUnavailable = errors.New("unavailable")

// EngineRetryKey is the gRPC metadata key, and ContextKey the context key
// in process, that say the engine retries calls failing with
// ErrUnavailable.
const EngineRetryKey = "etl-engine-retries-unavailable"

// ContextKey is the in-process context key of EngineRetryKey.
type ContextKey struct{}

// WithEngineRetry marks ctx, for the calls the engine makes with it, in
// process and as gRPC metadata.
func WithEngineRetry(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, ContextKey{}, true)
	return metadata.AppendToOutgoingContext(ctx, EngineRetryKey, "1")
}

// EngineRetries reports whether ctx carries the mark of WithEngineRetry,
// in process or as incoming gRPC metadata.
func EngineRetries(ctx context.Context) bool {
	if v, ok := ctx.Value(ContextKey{}).(bool); ok {
		return v
	}
	md, ok := metadata.FromIncomingContext(ctx)
	return ok && len(md.Get(EngineRetryKey)) > 0
}

// unavailableMark is the status detail that tells an ErrUnavailable of the
// plugin apart from gRPC's own codes.Unavailable (a broken connection to
// the plugin process, which is a crash, not an outage).
const unavailableMark = "etl.plugin.v1/unavailable"

// unavailableStatus is the gRPC status of an error wrapping ErrUnavailable.
func unavailableStatus(err error) error {
	st, derr := status.New(codes.Unavailable, err.Error()).WithDetails(wrapperspb.String(unavailableMark))
	if derr != nil {
		return status.Error(codes.Unknown, err.Error())
	}
	return st.Err()
}

// isUnavailableStatus reports whether st carries the mark.
func isUnavailableStatus(st *status.Status) bool {
	for _, d := range st.Details() {
		if s, ok := d.(*wrapperspb.StringValue); ok && s.GetValue() == unavailableMark {
			return true
		}
	}
	return false
}

// unavailableError is an ErrUnavailable that came over gRPC, with the
// plugin's own text.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }
func (e *unavailableError) Unwrap() error { return ErrUnavailable }

// StatusOf turns a plugin's error into a gRPC status that keeps its text:
// Canceled, Unimplemented for errors.ErrUnsupported (an optional method
// the plugin does not offer), Unavailable with the mark for
// ErrUnavailable, Unknown for the rest.
func StatusOf(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return status.Error(codes.Unimplemented, err.Error())
	}
	if errors.Is(err, ErrUnavailable) {
		return unavailableStatus(err)
	}
	return status.Error(codes.Unknown, err.Error())
}

// UnwrapStatus turns a gRPC status back into a plain error with the
// plugin's own text, wrapping context.Canceled, ErrUnavailable or
// errors.ErrUnsupported as StatusOf marked it.
func UnwrapStatus(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		if s.Code() == codes.Canceled {
			return fmt.Errorf("%s: %w", s.Message(), context.Canceled)
		}
		if s.Code() == codes.Unknown {
			return errors.New(s.Message())
		}
		if s.Code() == codes.Unavailable && isUnavailableStatus(s) {
			return &unavailableError{msg: s.Message()}
		}
		if s.Code() == codes.Unimplemented {
			// An optional method the plugin does not offer, e.g. one built
			// before the method existed.
			return fmt.Errorf("%s: %w", s.Message(), errors.ErrUnsupported)
		}
		return fmt.Errorf("%s (%s)", s.Message(), s.Code())
	}
	return err
}
