package plugin

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeDurationAndSizeWithKeyPaths(t *testing.T) {
	type config struct {
		Wait  Duration `yaml:"wait"`
		Limit Size     `yaml:"limit"`
		Retry struct {
			MaxTime Duration `yaml:"max_time"`
		} `yaml:"retry"`
	}
	for _, tc := range []struct {
		name, yaml string
		want       config
		wantErr    string
	}{
		{name: "units", yaml: "wait: 1m30s\nlimit: 1.5MiB\n", want: config{Wait: Duration(90 * time.Second), Limit: 1572864}},
		{name: "bare numbers", yaml: "wait: 0\nlimit: 4096\n", want: config{Limit: 4096}},
		{name: "decimal unit", yaml: "limit: 512KB\n", want: config{Limit: 512000}},
		{name: "duration without unit", yaml: "wait: 250\n", wantErr: `wait: "250" is not a duration: give a unit (e.g. 250ms, 250s)`},
		{name: "not a duration", yaml: "retry:\n  max_time: soon\n", wantErr: `retry.max_time: "soon" is not a duration (e.g. 250ms, 2s, 1m30s)`},
		{name: "negative duration", yaml: "wait: -1s\n", wantErr: `wait: "-1s": a duration cannot be negative`},
		{name: "bad unit", yaml: "limit: 4 apples\n", wantErr: `limit: "4 apples": unknown unit "apples" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)`},
		{name: "negative size", yaml: "limit: -1KiB\n", wantErr: `limit: "-1KiB": a size cannot be negative`},
		{name: "fraction of a byte", yaml: "limit: 1.5B\n", wantErr: `limit: "1.5B" is not a whole number of bytes`},
		{name: "a list", yaml: "wait: [1s]\n", wantErr: `wait: want a duration such as 250ms or 1m30s, not a list`},
		{name: "the first key of a flow mapping", yaml: "{wait: soon, limit: 4096}", wantErr: `wait: "soon" is not a duration (e.g. 250ms, 2s, 1m30s)`},
		{name: "keys of a flow mapping on one line", yaml: "retry: {max_time: soon}\nlimit: 1\nwait: {a: 1}", wantErr: `retry.max_time: "soon" is not a duration (e.g. 250ms, 2s, 1m30s); wait: want a duration such as 250ms or 1m30s, not a mapping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got config
			err := DecodeConfig([]byte(tc.yaml), &got)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestDurationAndSizeWriteAsRead(t *testing.T) {
	if got := Duration(time.Minute).String(); got != "1m" {
		t.Errorf("Duration(1m) = %q", got)
	}
	if got := Size(1 << 20).String(); got != "1MiB" {
		t.Errorf("Size(1MiB) = %q", got)
	}
	v, _ := Size(1572864).MarshalYAML()
	if !strings.EqualFold(v.(string), "1.5MiB") {
		t.Errorf("Size(1.5MiB) marshals as %v", v)
	}
}
