package virtio

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Source is one thing a Worker waits on.
type Source struct {
	FD int
	// Edge selects edge-triggered wake-ups (EPOLLET): Handle is called
	// once per readiness change and must consume everything ready (for
	// example read a tap until EAGAIN). Otherwise wake-ups are
	// level-triggered and Handle must make FD not readable (drain it).
	Edge bool
	// Handle runs on the worker goroutine when FD is readable. An error
	// stops the worker and is reported to the fail function.
	Handle func() error
}

// QueueSource returns a Source for a queue notifier: the worker drains the
// notifier, then calls handle. Draining first means a notification that
// arrives while handle runs wakes the worker again.
func QueueSource(n Notifier, handle func() error) Source {
	return Source{FD: n.FD(), Handle: func() error {
		if err := n.Drain(); err != nil {
			return err
		}
		return handle()
	}}
}

// Worker is a device's event loop: one goroutine blocked in epoll_wait on
// the device's sources and a stop eventfd. The zero value is stopped and
// ready to Start. Start and Stop may be called from any goroutine, but not
// from the worker goroutine itself.
type Worker struct {
	mu   sync.Mutex
	run  *run // the running loop, nil when stopped; guarded by mu
	errs []error
}

// run is one Start..Stop lifetime of a Worker.
type run struct {
	epfd    int
	stop    *EventFD
	sources []Source
	fail    func(error)
	done    chan struct{}
}

// Start starts the worker goroutine on sources. fail (which may be nil) is
// called from the worker with the error that stopped it: a handler error
// or an epoll failure. It is not called when Stop stops the worker.
func (w *Worker) Start(sources []Source, fail func(error)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.run != nil {
		return errors.New("worker: already running")
	}
	r, err := newRun(sources, fail)
	if err != nil {
		return err
	}
	w.run = r
	go r.loop()
	return nil
}

func newRun(sources []Source, fail func(error)) (*run, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("worker: epoll_create1: %w", err)
	}
	stop, err := NewEventFD()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("worker: %w", err), unix.Close(epfd))
	}
	r := &run{epfd: epfd, stop: stop, sources: sources, fail: fail, done: make(chan struct{})}
	// The epoll data of each fd is its index in sources; the stop fd is
	// index len(sources).
	all := append(sources[:len(sources):len(sources)], Source{FD: stop.FD()})
	for i, s := range all {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if s.Edge {
			ev.Events |= unix.EPOLLET
		}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, s.FD, &ev); err != nil {
			errs := append([]error{fmt.Errorf("worker: add fd %d to epoll: %w", s.FD, err)}, r.close()...)
			return nil, errors.Join(errs...)
		}
	}
	return r, nil
}

func (r *run) loop() {
	defer close(r.done)
	events := make([]unix.EpollEvent, len(r.sources)+1)
	for {
		n, err := unix.EpollWait(r.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			r.failed(fmt.Errorf("worker: epoll_wait: %w", err))
			return
		}
		ready := events[:n]
		for _, ev := range ready {
			if int(ev.Fd) == len(r.sources) {
				return // stop requested: run no more handlers
			}
		}
		for _, ev := range ready {
			if err := r.sources[ev.Fd].Handle(); err != nil {
				r.failed(err)
				return
			}
		}
	}
}

func (r *run) failed(err error) {
	if r.fail != nil {
		r.fail(err)
	}
}

func (r *run) close() []error {
	var errs []error
	if err := unix.Close(r.epfd); err != nil {
		errs = append(errs, fmt.Errorf("worker: close epoll: %w", err))
	}
	if err := r.stop.Close(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Stop stops the worker goroutine and waits for it to exit (a handler in
// progress finishes first). It is a no-op when the worker is not running.
// Errors closing the worker's own fds are kept for Err.
func (w *Worker) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.run
	if r == nil {
		return
	}
	w.run = nil
	if err := r.stop.Signal(); err != nil {
		// Only possible if the stop eventfd was closed behind our back:
		// the loop would never exit, so leak it rather than hang.
		w.errs = append(w.errs, err)
		return
	}
	<-r.done
	w.errs = append(w.errs, r.close()...)
}

// Running reports whether the worker goroutine was started and not stopped.
// It stays true after a handler error until Stop.
func (w *Worker) Running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.run != nil
}

// Err returns errors from stopping the worker (closing its fds), if any.
func (w *Worker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return errors.Join(w.errs...)
}
