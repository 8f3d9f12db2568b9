"""Closes a race in pynetdicom 3.0.4 that our consoles hit against a fast SCP.

`send_c_store()` and friends pause the association's reactor thread by clearing an Event and waiting for the
reactor's `_is_paused` flag. That flag is stale right after the previous operation: the reactor is still inside
`Event.wait()` from before, and a Python `Event.wait()` woken by `set()` returns True even if the flag was cleared
again meanwhile. The reactor then runs once more and takes the next C-STORE response off the DIMSE queue as an
"unexpected C-STORE service message"; the sender waits out its DIMSE timeout and aborts. With SpinePlan answering in
well under a millisecond (TCP_NODELAY), this hit about one association in 200 (CI flakes, "114 sessions cut off" in
a soak). Import this module before making associations: the checkpoint becomes an Event whose `wait()` returns only
while its flag is set, and each DIMSE request waits until the reactor is really blocked on it.
"""
import threading
import time

from pynetdicom import association


class _Checkpoint(threading.Event):
    """An Event that returns from `wait()` only with its flag set, and counts the threads inside `wait()`."""

    def __init__(self):
        super().__init__()
        self.waiting = 0

    def wait(self, timeout=None):
        with self._cond:
            self.waiting += 1
            try:
                deadline = None if timeout is None else time.monotonic() + timeout
                while not self._flag:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self.waiting -= 1


_original_init = association.Association.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self._reactor_checkpoint = _Checkpoint()
    self._reactor_checkpoint.set()


def _paused(method):
    def wrapper(self, *args, **kwargs):
        checkpoint = self._reactor_checkpoint
        if isinstance(checkpoint, _Checkpoint) and self.is_established:
            checkpoint.clear()
            deadline = time.monotonic() + 2
            while checkpoint.waiting == 0 and self.is_established and time.monotonic() < deadline:
                time.sleep(0.0001)
        return method(self, *args, **kwargs)
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


if not getattr(association.Association, "_spineplan_race_fixed", False):
    association.Association.__init__ = _init
    for name in ("send_c_store", "send_c_echo", "send_c_find", "send_c_get", "send_c_move"):
        setattr(association.Association, name, _paused(getattr(association.Association, name)))
    association.Association._spineplan_race_fixed = True
