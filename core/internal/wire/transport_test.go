package wire

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// Batches of every size, a frame's and many, cross a real gRPC connection
// with our options and codec and come back byte for byte.
func TestBatchesCrossGRPCIntact(t *testing.T) {
	client := startEcho(t)
	for i, size := range []int{1, 1000, 16 << 10, 100_000, 1_200_000, 37} {
		arrow := make([]byte, size)
		for j := range arrow {
			arrow[j] = byte(i*31 + j*7)
		}
		resp, err := client.Process(context.Background(), &pb.ProcessRequest{Batch: &pb.Batch{Arrow: arrow}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.GetBatch().GetArrow(), arrow) {
			t.Fatalf("batch %d of %d bytes came back changed", i, size)
		}
	}
}

// echo is a transform service that answers a batch with itself.
type echo struct {
	pb.UnimplementedTransformServer
}

func (echo) Process(_ context.Context, r *pb.ProcessRequest) (*pb.ProcessResponse, error) {
	return &pb.ProcessResponse{Batch: r.Batch}, nil
}

// startEcho serves echo over a Unix socket, with ServerOptions and
// DialOptions at its ends, and returns a client of it.
func startEcho(tb testing.TB) pb.TransformClient {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer(ServerOptions()...)
	pb.RegisterTransformServer(srv, echo{})
	go srv.Serve(l)
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, append(DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return pb.NewTransformClient(conn)
}

// BenchmarkBatchRoundTrip sends a batch of the e-commerce pipeline's size
// (5,000 rows, about 1.15 MiB) to a transform and back over gRPC on a Unix
// socket, both ends in this process: what a batch costs in transport alone.
// One op is one round trip.
func BenchmarkBatchRoundTrip(b *testing.B) {
	arrow := bytes.Repeat([]byte("0123456789abcdef"), 1_200_000/16)
	client := startEcho(b)
	req := &pb.ProcessRequest{Batch: &pb.Batch{Arrow: arrow}}
	b.SetBytes(int64(2 * len(arrow)))
	for b.Loop() {
		if _, err := client.Process(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
