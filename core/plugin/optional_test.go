package plugin

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed-etl/etl/core/plugin/pb"
)

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
	_, err = (&sinkServer{impl: plainSink{}}).Check(ctx, &pb.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Check of a sink without it: %v, want Unimplemented", err)
	}
}

// checkingSink answers Check with what it holds.
type checkingSink struct {
	Sink
	res CheckResult
	err error
}

func (s checkingSink) Check(context.Context) (CheckResult, error) { return s.res, s.err }

// TestCheckCrossesTheWire: the mistakes of a Check come back as
// ConfigErrors with their paths and fields, the notes beside them; a
// failure to check stays an error that is not ConfigErrors.
func TestCheckCrossesTheWire(t *testing.T) {
	mistakes := ConfigErrors{{Path: "table", Message: "table evnts does not exist"}, {Path: "table", Message: "wrong type", Field: "price"}}
	tests := []struct {
		name      string
		sink      checkingSink
		notes     []string
		mistakes  ConfigErrors
		otherFail bool
	}{
		{"valid with a note", checkingSink{res: CheckResult{Notes: []string{"a run creates etl_offsets"}}}, []string{"a run creates etl_offsets"}, nil, false},
		{"mistakes and notes", checkingSink{res: CheckResult{Notes: []string{"n"}}, err: mistakes}, []string{"n"}, mistakes, false},
		{"one mistake", checkingSink{err: ConfigError{Path: "dsn", Message: "refused"}}, nil, ConfigErrors{{Path: "dsn", Message: "refused"}}, false},
		{"cannot check", checkingSink{err: errors.New("boom")}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := (&sinkServer{impl: tt.sink}).Check(context.Background(), &pb.Empty{})
			if tt.otherFail {
				if err == nil || status.Code(err) == codes.Unimplemented {
					t.Fatalf("Check: %v, want a plain failure", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if !reflect.DeepEqual(r.Notes, tt.notes) {
				t.Errorf("notes %q, want %q", r.Notes, tt.notes)
			}
			got := mistakesOf(r.Errors)
			if tt.mistakes == nil {
				if got != nil {
					t.Errorf("mistakes %v, want none", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.mistakes) {
				t.Errorf("mistakes %#v, want %#v", got, tt.mistakes)
			}
		})
	}
}

// mistakesOf reads back what configErrorsToPB wrote, as the engine does.
func mistakesOf(es []*pb.ConfigError) ConfigErrors {
	if len(es) == 0 {
		return nil
	}
	var out ConfigErrors
	for _, e := range es {
		out = append(out, ConfigError{Path: e.Path, Message: e.Message, Field: e.Field})
	}
	return out
}

func TestBacklogToTheWire(t *testing.T) {
	if backlogToPB(nil) != nil {
		t.Error("no backlog became a message")
	}
	b := &Backlog{Partitions: 3, Bytes: 1 << 40, Quarantined: 2, Unreadable: []string{"a.csv", "b\xff.csv"}}
	m := backlogToPB(b)
	if m.Partitions != 3 || m.Bytes != 1<<40 || m.Quarantined != 2 || len(m.Unreadable) != 2 || string(m.Unreadable[1]) != "b\xff.csv" {
		t.Errorf("backlog %+v became %v", b, m)
	}
}
