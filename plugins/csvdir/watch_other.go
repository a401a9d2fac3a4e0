//go:build !linux

package csvdir

// arrivals: see watch_linux.go. Elsewhere the folder is only polled.
type arrivals struct{}

func watchArrivals(string) (*arrivals, error) { return nil, nil }

func (a *arrivals) C() <-chan struct{} { return nil }

func (a *arrivals) Close() error { return nil }
