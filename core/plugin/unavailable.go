package plugin

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ErrUnavailable marks an error of a plugin whose outside system (a
// database, a broker) cannot be reached for now: the same call may succeed
// when made again later, and nothing is wrong with the plugin itself. Wrap
// it (fmt.Errorf("...: %w", err) with errors.Join or a second %w) so that
// errors.Is finds it; it crosses the process boundary as gRPC status
// UNAVAILABLE with a detail (pb/PROTOCOL.md, "Errors"). In a streaming run
// the engine retries a sink's Checkpoint and Write that fail with it, with
// backoff, for as long as it takes, and reports the pipeline not ready
// meanwhile; elsewhere (--once, a source, a transform) it ends the run like
// any other error.
var ErrUnavailable = errors.New("unavailable")

// engineRetryKey is the gRPC metadata key, and the context key in process,
// that says the engine retries calls failing with ErrUnavailable.
const engineRetryKey = "etl-engine-retries-unavailable"

type engineRetryCtxKey struct{}

// WithEngineRetry marks ctx, for the calls the engine makes with it: the
// engine retries a call that fails with ErrUnavailable for as long as it
// takes, so the plugin should give up retrying by itself promptly (within
// about a second) and return an error wrapping ErrUnavailable instead. The
// mark crosses to the plugin process as gRPC metadata.
func WithEngineRetry(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, engineRetryCtxKey{}, true)
	return metadata.AppendToOutgoingContext(ctx, engineRetryKey, "1")
}

// EngineRetries reports whether the engine retries the call ctx belongs
// to when it fails with ErrUnavailable (see WithEngineRetry). Plugins ask
// it to decide how long to retry by themselves: briefly when it does,
// within their own bound (e.g. a retry.max_time setting) when it does not.
func EngineRetries(ctx context.Context) bool {
	if v, ok := ctx.Value(engineRetryCtxKey{}).(bool); ok {
		return v
	}
	md, ok := metadata.FromIncomingContext(ctx)
	return ok && len(md.Get(engineRetryKey)) > 0
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
