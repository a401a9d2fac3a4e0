package host

import (
	"reflect"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/pb"
)

func TestBacklogFromTheWire(t *testing.T) {
	if backlogFromPB(nil) != nil {
		t.Error("no message became a backlog")
	}
	got := backlogFromPB(&pb.Backlog{Partitions: 3, Bytes: 1 << 40, Quarantined: 2, Unreadable: [][]byte{[]byte("a.csv"), []byte("b\xff.csv")}})
	want := &plugin.Backlog{Partitions: 3, Bytes: 1 << 40, Quarantined: 2, Unreadable: []string{"a.csv", "b\xff.csv"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestConfigErrorsFromTheWire(t *testing.T) {
	if configErrorsFromPB(nil) != nil {
		t.Error("no mistakes became an error")
	}
	got := configErrorsFromPB([]*pb.ConfigError{{Path: "table", Message: "m", Field: "price"}})
	want := plugin.ConfigErrors{{Path: "table", Message: "m", Field: "price"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}
