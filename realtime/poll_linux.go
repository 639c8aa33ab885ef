package realtime

import (
	"sync"
	"syscall"
)

// poller waits, for every idle session, until its socket becomes readable,
// with one epoll instance and one goroutine for the whole process, so that
// an idle session keeps no goroutine of its own (a parked reader costs a
// 2–4 KiB stack and a g record per connection). Each registration is
// one-shot: an event starts one reader (session.wake), which reads until
// nothing is pending and then re-arms the registration; the interest is
// level-triggered, so bytes that arrive between the reader's last read and
// the re-arm fire at once and are never missed.
type poller struct {
	epfd int

	mu       sync.Mutex
	sessions map[uint32]*session // by registration id (the event's data)
	next     uint32
}

// thePoller is started on first use and serves every hub of the process.
var thePoller = sync.OnceValue(func() *poller {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil // sessions fall back to a reader goroutine each
	}
	p := &poller{epfd: fd, sessions: map[uint32]*session{}}
	go p.run()
	return p
})

func newPoller() *poller { return thePoller() }

// arm asks for one wake when s's socket is readable (or hung up). It
// fails when the socket is closed or the session has ended. The epoll_ctl
// call goes through the socket's RawConn.Control, which holds the
// descriptor open for its duration: a descriptor number closed and reused
// by another connection meanwhile can never be registered in its place.
func (p *poller) arm(s *session) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.ended.Load() {
		return errSessionEnded
	}
	op := syscall.EPOLL_CTL_MOD
	if s.pollID == 0 {
		for p.next++; p.next == 0 || p.sessions[p.next] != nil; p.next++ {
		}
		s.pollID = p.next
		p.sessions[s.pollID] = s
		op = syscall.EPOLL_CTL_ADD
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(s.pollID)}
	var cerr error
	if err := s.nc.sock.Control(func(fd uintptr) { cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev) }); err != nil {
		return err
	}
	return cerr
}

// forget removes s's registration, if it has one.
func (p *poller) forget(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.pollID == 0 {
		return
	}
	delete(p.sessions, s.pollID)
	s.pollID = 0
	// A closed socket has left the epoll set already; Control then fails
	// and nothing is done.
	s.nc.sock.Control(func(fd uintptr) { syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
}

// run waits for events and starts a reader for each: on a thread of its
// own while it waits, as epoll_wait is a blocking system call.
func (p *poller) run() {
	events := make([]syscall.EpollEvent, 256)
	var ready []*session
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			panic("realtime: epoll_wait: " + err.Error())
		}
		p.mu.Lock()
		for i := range n {
			if s := p.sessions[uint32(events[i].Fd)]; s != nil {
				ready = append(ready, s)
			}
		}
		p.mu.Unlock()
		for i, s := range ready {
			go s.wake()
			ready[i] = nil
		}
		ready = ready[:0]
	}
}
