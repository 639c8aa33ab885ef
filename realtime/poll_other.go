//go:build !linux

package realtime

// poller is Linux's epoll (poll_linux.go); elsewhere every session keeps a
// reader goroutine.
type poller struct{}

func newPoller() *poller { return nil }

func (*poller) arm(*session) error { return errSessionEnded }
func (*poller) forget(*session)    {}
