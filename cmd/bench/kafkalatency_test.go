package main

import (
	"slices"
	"testing"
	"time"
)

func TestKafkaLatenciesFromFirstCommitBeyondOffset(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	commits := map[int32][]commitSeen{
		0: {{next: 2, at: ms(100)}, {next: 5, at: ms(300)}},
		1: {{next: 1, at: ms(50)}},
	}
	for _, tc := range []struct {
		name            string
		produced        []producedMsg
		want            []float64
		wantUncommitted int
	}{
		{name: "none", want: []float64{}},
		{
			name:     "first commit whose next offset is beyond",
			produced: []producedMsg{{0, 0, ms(10)}, {0, 1, ms(20)}, {0, 2, ms(30)}, {0, 4, ms(200)}},
			want:     []float64{90, 80, 270, 100},
		},
		{
			name:     "partitions apart",
			produced: []producedMsg{{1, 0, ms(0)}, {0, 0, ms(0)}},
			want:     []float64{50, 100},
		},
		{
			name:            "offset at the committed next offset is not committed",
			produced:        []producedMsg{{0, 5, ms(250)}, {1, 1, ms(10)}, {0, 3, ms(150)}},
			want:            []float64{150},
			wantUncommitted: 2,
		},
		{
			name:            "partition never committed",
			produced:        []producedMsg{{7, 0, ms(0)}},
			want:            []float64{},
			wantUncommitted: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unc := kafkaLatencies(tc.produced, commits)
			if !slices.Equal(got, tc.want) || unc != tc.wantUncommitted {
				t.Errorf("kafkaLatencies = %v, %d uncommitted; want %v, %d", got, unc, tc.want, tc.wantUncommitted)
			}
		})
	}
}

func TestCommittedSumAddsLastNextOffsets(t *testing.T) {
	got := committedSum(map[int32][]commitSeen{
		0: {{next: 2}, {next: 5}},
		3: {{next: 7}},
		4: nil,
	})
	if got != 12 {
		t.Errorf("committedSum = %d, want 12", got)
	}
}

func TestKafkaPartitionName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int32
		ok   bool
	}{
		{"events/0", 0, true},
		{"events/11", 11, true},
		{"other/3", 0, false},
		{"events/-1", 0, false},
		{"events/x", 0, false},
		{"events", 0, false},
		{"", 0, false},
	} {
		got, ok := kafkaPartition(tc.name, "events")
		if got != tc.want || ok != tc.ok {
			t.Errorf("kafkaPartition(%q) = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
