//go:build !linux

package main

import (
	"errors"
	"time"
)

type renameWatch struct{}

func watchRenames(string) (*renameWatch, error) {
	return nil, errors.New("the latency measure needs Linux (inotify)")
}

func (*renameWatch) Stop() map[string]time.Time { return nil }
