"""The engine: one event loop per test, and where its sync and async work runs.

A :class:`TestLoop` belongs to one test (or to one ``asyncSetUpTestData``).
It knows nothing of ``TestCase``: the test classes and the pytest plugin both
drive it the same way.

- **The loop runs on the test's thread**, the thread that opened the test's
  transaction (it ran ``setUpClass`` and ``_pre_setup``), as
  ``unittest.IsolatedAsyncioTestCase`` runs its loop. Each async step
  (``asyncSetUp``, the test, ``asyncTearDown``, an async cleanup) runs as a
  task in the test's one ``contextvars.Context``.
- **Sync work runs on a database worker** (``_worker.DatabaseWorker``): the
  tasks' thread-sensitive ``sync_to_async`` calls, so every async ORM call,
  are routed to it (``_asgiref``). The worker uses the test thread's own
  connection objects, so every call runs inside the test's transaction, while
  the loop goes on running tasks and timers, as in production and under
  ``django.test.TestCase``. Sync code that calls ``async_to_sync`` (a sync-only
  middleware in front of an async view, ``Signal.send`` to async receivers)
  sends the coroutine back to the test's loop.
- **Watchers** (the guards) are told when the loop opens, when each step starts
  and ends, and what was left when it closed; they may fail the test then.

Lifecycle, the one rule: ``open()`` before the test's first hook; ``run()``
each async step; ``close()`` once, after the last cleanup and before Django
rolls the transaction back: it cancels the tasks left pending, waits (with a
bound) for the default executor and for the worker's calls still running,
cancelling on the server a query still in flight (at once if the test was
interrupted; see ``_cancel_queries``), closes the loop, hands the worker back
and lets the watchers report. ``close()`` may be called again (a no-op), so a
test cut short can close it from a ``finally``.

**A loop someone else runs** (pytest-asyncio's or anyio's, for the pytest
plugin): :class:`ServedTest` gives such a test the same routing and the same
watchers without owning its loop. ``open()`` before the first step; each async
step (the test, an async fixture's set-up or tear-down) runs through
``run_step()`` on the loop; ``settle()`` judges the tasks a part of the test
left (at the end of the test function, of a fixture's tear-down); ``close()``
once, before Django rolls back.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import gc
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from django.db import connections

from . import _asgiref, _async_backend, _stdlib, _worker
from ._checks import check_loop
from ._compat import cancel_requested, create_task_in_context
from ._tracebacks import clean_traceback, is_hidden_file

__unittest = True  # See _tracebacks.

_T = TypeVar("_T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: How long tasks left pending get to finish once cancelled at the end of a
#: test, and how long a sync call still running on the worker gets to return.
CANCEL_GRACE = 1.0


@dataclasses.dataclass
class LoopOutcome:
    """What a test left behind when its loop closed."""

    #: Tasks still pending at the end, described (see ``describe_task``).
    leftover_tasks: list[str] = dataclasses.field(default_factory=list)
    #: What the loop's exception handler received (errors of background tasks).
    loop_errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: A sync call was still running on the database worker after the grace period.
    stuck_sync_call: bool = False
    #: What ended, for messages: "the test", "the tear-down of the fixture 'x'".
    ended: str = "the test"
    #: The aliases whose query in flight was then cancelled on the server.
    cancelled_queries: list[str] = dataclasses.field(default_factory=list)


class DatabaseSide(Protocol):
    """What the watchers may ask of the test's database side (TestLoop, ServedTest)."""

    def database_threads(self) -> tuple[threading.Thread, ...]:
        """The threads that use the test's connections."""

    def stop_sync_calls(self) -> _worker.Release:
        """Cancel the queries of the sync calls in flight at once; wait for the calls a while."""


class Watcher(Protocol):
    """What the engine tells the guards; see guards.TestGuards."""

    def opened(self, test: DatabaseSide) -> None:
        """The test starts (before its first step); ``test`` is its database side."""

    def step_started(
        self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], source: object = None
    ) -> None:
        """An async step starts in ``task`` on ``loop``.

        ``source``, if given, is the coroutine or async generator whose frames
        show where the step waits (else ``task``'s coroutine does).
        """

    def step_finished(self, task: asyncio.Task[Any], error: BaseException | None) -> None:
        """The step in ``task`` ended, raising ``error``; may raise a failure of the step."""

    def checkpoint(self, outcome: LoopOutcome) -> None:
        """A part of the test ended and left ``outcome``; may raise a failure of the test."""

    def closed(self, outcome: LoopOutcome, report: bool) -> None:
        """The loop is closed; may raise a failure of the test if ``report``."""


# The TestLoop of the test whose contextvars.Context the caller runs in.
_current: contextvars.ContextVar[TestLoop] = contextvars.ContextVar("django_async_testcase")


def current_test_loop() -> TestLoop | None:
    """The TestLoop whose loop runs the calling coroutine, or None.

    None in sync code, and in coroutines of other loops.
    """
    test_loop = _current.get(None)
    if test_loop is None or test_loop._loop is None:
        return None
    return test_loop if _stdlib.running_loop() is test_loop._loop else None


class _ServesDatabase:
    """The database side shared by TestLoop and ServedTest: the test's thread and its worker.

    Made on the test's thread, the one that owns its connections and transaction.
    """

    __test__ = False  # Not a test, whatever pytest's name patterns say.

    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self.worker: _worker.DatabaseWorker | None = None
        # stop_sync_calls() left a call running: already reported, not again at the end.
        self._stuck_reported = False
        # django-async-backend's async connections run on this test's own
        # connections until it closes (None: the package is not in use).
        self._stop_async_backend = _async_backend.start(self)

    def _stop_serving_async_backend(self) -> None:
        stop, self._stop_async_backend = self._stop_async_backend, None
        if stop is not None:
            stop()

    def database_threads(self) -> tuple[threading.Thread, ...]:
        """The threads that use the test's connections: its own and its worker's."""
        if self.worker is None:
            return (self.thread,)
        return (self.thread, self.worker.thread)

    def stop_sync_calls(self) -> _worker.Release:
        """A step ran over its budget: cancel its sync calls' queries now, wait for the calls.

        Waits up to ``CANCEL_GRACE`` s for them to return, so that the step's
        one failure can say how the call it awaited ended. Called where the
        step ended: on the running loop for a ServedTest, which waits meanwhile.
        """
        if self.worker is None:
            return _worker.Release(stuck=False, cancelled=[])
        # MariaDB's KILL QUERY opens a connection through Django (async_unsafe).
        with _stdlib.running_loop_hidden():
            released = self.worker.stop_calls(CANCEL_GRACE)
        self._stuck_reported = self._stuck_reported or released.stuck
        return released

    def _bind_worker(self) -> _worker.DatabaseWorker:
        """Take a worker and share this thread's connections with it (no loop may run here)."""
        worker = self.worker = _worker.take_worker()
        worker.bind(list(connections))
        return worker

    def _release_worker(self, interrupted: bool) -> _worker.Release:
        """Wait for the worker's calls in flight, cancelling their queries; hand it back.

        The queries of a test ``interrupted`` (KeyboardInterrupt) are
        cancelled at once; otherwise after ``CANCEL_GRACE`` s.
        """
        worker, self.worker = self.worker, None
        if worker is None:
            return _worker.Release(stuck=False, cancelled=[])
        try:
            if self._stuck_reported:  # Reported with the timeout: left on its thread.
                worker.release(0, cancel_at_once=True)
                return _worker.Release(stuck=False, cancelled=[])
            return worker.release(CANCEL_GRACE, cancel_at_once=interrupted)
        finally:
            _worker.give_back(worker)


class TestLoop(_ServesDatabase):
    """The event loop of one test, the context its code shares, and its database worker."""

    def __init__(
        self,
        loop_factory: LoopFactory | None = None,
        debug: bool | None = None,
        watchers: Sequence[Watcher] = (),
    ) -> None:
        super().__init__()
        self._loop_factory = loop_factory or asyncio.new_event_loop
        self._debug = debug
        self._watchers = tuple(watchers)
        self.context = contextvars.copy_context()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outcome = LoopOutcome()
        self._opened = False
        self._closed = False
        # KeyboardInterrupt (or SystemExit) cut a step short.
        self._interrupted = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The test's event loop, once an async step has started it."""
        return self._loop

    def open(self) -> None:
        """Start the watchers; the loop itself starts with the first async step."""
        self._opened = True
        self.context.run(_current.set, self)
        for watcher in self._watchers:
            watcher.opened(self)

    def run(self, awaitable: Awaitable[_T]) -> _T:
        """Run ``awaitable`` as a task on the test's loop until it ends; return its result."""
        if self._closed or not self._opened:
            _discard(awaitable)
            raise RuntimeError("This test's event loop is not open.")
        loop = self._loop
        if (loop is not None and loop.is_running()) or not _context_free(self.context):
            _discard(awaitable)
            raise RuntimeError(
                "Cannot run a coroutine of the test from synchronous code of the same "
                "test (a sync test method, setUp, tearDown, a sync cleanup, or sync "
                "code that the test's coroutine called): make the caller `async def` "
                "and await the coroutine, or move the call to an async hook."
            )
        if loop is None:
            try:
                loop = self._start_loop()
            except BaseException:
                _discard(awaitable)
                raise
        task = create_task_in_context(loop, _as_coroutine(awaitable), self.context)
        for watcher in self._watchers:
            watcher.step_started(loop, task)
        cancelled: BaseException | None = None
        try:
            loop.run_until_complete(task)
        except BaseException as exc:
            if not task.done():
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    self._interrupted = True  # It stopped the loop itself.
                else:  # loop.stop() in the step: end the step's task here.
                    loop.run_until_complete(_cancel([task]))
                raise
            cancelled = exc  # The task was cancelled: what it raised (see _result).
        error = None if task.cancelled() else task.exception()
        for watcher in self._watchers:
            watcher.step_finished(task, error)
        del error
        return _result(task, cancelled)

    def run_sync(self, func: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """Call sync ``func`` (setUp, tearDown, a sync cleanup) in the test's context."""
        return self.context.run(func, *args, **kwargs)

    def close(self, report: bool = True) -> None:
        """Close the loop as the lifecycle rule says; then the watchers may fail the test."""
        if self._closed:
            return
        self._closed = True
        outcome = self._outcome
        loop, self._loop = self._loop, None
        try:
            if loop is not None:
                try:
                    task = loop.create_task(_shutdown())
                    loop.run_until_complete(task)
                    outcome.leftover_tasks = _result(task)
                finally:
                    # The worker stays the test's while cancelled tasks finish.
                    released = self._release_worker(self._interrupted)
                    outcome.stuck_sync_call = released.stuck or bool(released.cancelled)
                    outcome.cancelled_queries = released.cancelled
                    loop.close()
        finally:
            self._stop_serving_async_backend()
            if self._opened:
                for watcher in self._watchers:
                    watcher.closed(outcome, report)

    def __reduce__(self) -> tuple[Callable[[], _Unpickled], tuple[()]]:
        # Django's --parallel pickles a test whose subtest failed, to report it
        # from the worker process; the loop stays behind.
        return _Unpickled, ()

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop_factory()
        check_loop(loop, self._loop_factory)
        if self._debug is not None:
            loop.set_debug(self._debug)
        if loop.get_exception_handler() is None:
            loop.set_exception_handler(self._record_loop_error)
        worker = self._bind_worker()
        self.context.run(_asgiref.route_thread_sensitive_calls, worker)
        _asgiref.route_new_tasks(loop, worker)
        self._loop = loop
        return loop

    def _record_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self._outcome.loop_errors.append(context)


class _Unpickled:
    """What a pickled TestLoop becomes when unpickled (in the parent of --parallel)."""

    def close(self, report: bool = True) -> None:
        pass


def describe_task(task: asyncio.Task[Any]) -> str:
    """The task's name and coroutine, and where it was created if the loop is in debug mode."""
    text = f"  {task!r}"
    source = _stdlib.task_creation_stack(task)
    if source:
        created = [frame for frame in source if not is_hidden_file(frame.filename)]
        text += "\n  created at (most recent call last):\n" + "".join(
            "  " + line for line in traceback.format_list(created)
        )
    return text


def _discard(awaitable: Awaitable[Any]) -> None:
    if asyncio.iscoroutine(awaitable):
        awaitable.close()  # Never started: no "never awaited" warning.


def _as_coroutine(awaitable: Awaitable[_T]) -> Coroutine[Any, Any, _T]:
    if asyncio.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


async def _await(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _context_free(context: contextvars.Context) -> bool:
    """Whether ``context`` can be entered (no code runs in it right now)."""
    try:
        context.run(_nothing)
    except RuntimeError:
        return False
    return True


def _nothing() -> None:
    pass


def _result(task: asyncio.Task[_T], cancelled: BaseException | None = None) -> _T:
    """The result of a finished task, or raise its exception (with a clean traceback).

    For a cancelled task, ``cancelled`` is the CancelledError its loop raised:
    the one the task's coroutine raised (the test's own ``raise
    CancelledError("...")``, or the cancellation it awaited), with its message
    and the test's line; Python 3.10 chains that one to a new one.
    """
    exc: BaseException | None
    if task.cancelled():
        exc = cancelled
        if exc is not None and isinstance(exc.__context__, asyncio.CancelledError):
            exc = exc.__context__
        if exc is None:
            raise asyncio.CancelledError("The test's coroutine was cancelled before it finished.")
    else:
        exc = task.exception()
    if exc is not None:
        del task, cancelled
        clean_traceback(exc)
        try:
            raise exc
        finally:
            del exc
    return task.result()


async def _shutdown() -> list[str]:
    """Cancel every other task, then finish async generators and the default executor.

    Returns the description of each task that was still pending. The default
    executor's calls get ``CANCEL_GRACE`` s, no more: one may wait for a lock
    of the test's transaction, which only its rollback, after this, releases.
    """
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    leftovers = await _cancel(tasks)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception in a task cancelled at the end of the test",
                    "exception": task.exception(),
                    "task": task,
                }
            )
    await loop.shutdown_asyncgens()
    executor = _stdlib.default_executor(loop)
    if executor is _stdlib.UNKNOWN:  # A loop of another kind: as asyncio.run() does.
        await loop.shutdown_default_executor()
    elif executor is not None:
        await asyncio.wait([_joined(executor)], timeout=CANCEL_GRACE)
        executor.shutdown(wait=False)
    return leftovers


def _joined(executor: Executor) -> asyncio.Future[None]:
    """A future of the running loop, done once ``executor``'s calls have all returned.

    Unlike ``loop.shutdown_default_executor()`` (without a timeout before
    Python 3.12), the waiting thread is a daemon and can be left behind.
    """
    loop = asyncio.get_running_loop()
    joined: asyncio.Future[None] = loop.create_future()

    def join() -> None:
        executor.shutdown(wait=True)
        try:
            loop.call_soon_threadsafe(_set_done, joined)
        except RuntimeError:
            pass  # The loop has closed: nobody waits any more.

    threading.Thread(target=join, name="django-async-testcase executor join", daemon=True).start()
    return joined


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _cancel(tasks: Sequence[asyncio.Future[Any]]) -> list[str]:
    """Stop ``tasks`` (pending at the end of a test); describe the leftovers.

    A leftover is a task still pending that nobody asked to stop. The verdict
    must not depend on scheduling or on when the garbage collector runs:

    0. The application of an asgiref ``ApplicationCommunicator`` (every
       Channels communicator) still running is cancelled, as the
       communicator's ``stop()`` or ``__del__`` does: its owner is the
       communicator, alive or not (what keeps it alive differs between Python
       versions and with what earlier tests left).
    1. Tasks already on their way out (cancelled, not yet finished) get up to
       ``CANCEL_GRACE`` s to finish first: their owner is stopping them, and
       they may cancel and await children of their own in turn (Channels'
       consumers do, one child after the other).
    2. If a task is still pending that nobody asked to stop, the garbage
       collector runs once: an owner kept alive only by a reference cycle
       (a communicator, whose ``__del__`` cancels its application) then stops
       its tasks, and step 1 runs again.
    3. Each task still pending and not on its way out is a leftover. Every
       pending task is then cancelled and gets ``CANCEL_GRACE`` s to finish;
       each that does not is described again, saying so.
    """
    for task in tasks:
        if _forgotten(task) and _asgiref.started_by_communicator(task):
            task.cancel()
    await _let_stopping_tasks_finish(tasks)
    if any(_forgotten(task) for task in tasks):
        gc.collect()
        await _let_stopping_tasks_finish(tasks)
    leftovers = [
        describe_task(task) for task in tasks if isinstance(task, asyncio.Task) and _forgotten(task)
    ]
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_GRACE)
    leftovers.extend(
        f"{describe_task(task)}\n  (it did not stop when cancelled)"
        for task in pending
        if not task.done() and isinstance(task, asyncio.Task)
    )
    return leftovers


def _forgotten(task: asyncio.Future[Any]) -> bool:
    """Whether ``task`` is still pending and nobody asked it to stop."""
    return isinstance(task, asyncio.Task) and not task.done() and not cancel_requested(task)


async def _let_stopping_tasks_finish(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Wait up to ``CANCEL_GRACE`` s for the tasks among ``tasks`` that are being cancelled.

    Waits again for those that their owners cancel meanwhile (a task stopping
    its children), until none is left stopping or the grace is over.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_GRACE
    while True:
        stopping = [
            task
            for task in tasks
            if isinstance(task, asyncio.Task) and not task.done() and cancel_requested(task)
        ]
        remaining = deadline - loop.time()
        if not stopping or remaining <= 0:
            return
        await asyncio.wait(stopping, timeout=remaining)


class ServedTest(_ServesDatabase):
    """The database side and the watchers of one test whose event loop someone else runs.

    pytest-asyncio and anyio run a test's coroutine and its async fixtures on
    their own loop, on pytest's main thread: the thread that opened the test's
    transaction (pytest-django's ``_django_db_helper``). Made on that thread,
    a ServedTest routes the thread-sensitive ``sync_to_async`` calls of each
    step it serves to a database worker bound to that thread's connections,
    and tells its watchers what :class:`TestLoop` tells them.

    - ``run_step(owner, awaitable)``, awaited on the loop, runs one step (the
      test, an async fixture's set-up or tear-down) in the calling task: binds
      the worker (on the first step), routes the step's context, installs the
      task factory that routes tasks made in other contexts (remembered with
      their ``owner``) and, unless the loop has one, an exception handler that
      records background errors. All is undone when the step ends, so the loop
      and its context are left as found (pytest-asyncio's wider loop scopes and
      anyio's runner task outlive the test). The watchers hear
      ``step_started`` and ``step_finished`` with the calling task.
    - ``settle(owners, ended)``, awaited on the loop, cancels the tasks of
      ``owners`` still pending and tells the watchers ``checkpoint``.
    - ``close()`` cancels what is left (on a loop neither running nor closed),
      waits for the worker's calls in flight (cancelling their queries), hands
      the worker back and tells the watchers ``closed``. A step still running
      then was cut short (KeyboardInterrupt stopped the loop), or the runner
      called ``interrupt()``: its queries are cancelled at once.
    """

    def __init__(self, watchers: Sequence[Watcher] = ()) -> None:
        super().__init__()
        self._watchers = tuple(watchers)
        self._tasks: list[tuple[str, asyncio.Future[Any]]] = []
        self._loop_errors: list[dict[str, Any]] = []
        self._opened = False
        self._closed = False
        self._steps_running = 0
        #: The test was interrupted (KeyboardInterrupt): set by ``interrupt()``,
        #: or by ``close()`` when a step was cut short (its coroutine never ended).
        self.interrupted = False
        #: Set by ``close()``: the aliases whose query in flight it cancelled.
        self.cancelled_queries: list[str] = []

    def open(self) -> None:
        """Start the watchers (before the test's first step)."""
        self._opened = True
        for watcher in self._watchers:
            watcher.opened(self)

    async def run_step(self, owner: str, awaitable: Awaitable[_T], source: object = None) -> _T:
        """Await ``awaitable`` as one served, watched step of the test.

        ``source`` is the coroutine or async generator that shows where the
        step waits, when ``awaitable`` cannot (an async generator's ``asend``).
        """
        __tracebackhide__ = True  # pytest: the failure starts at the user's code.
        try:
            exit = self._enter(owner)
        except BaseException:
            _discard(awaitable)
            raise
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for watcher in self._watchers:
                watcher.step_started(loop, task, awaitable if source is None else source)
        error: BaseException | None = None
        try:
            result = await awaitable
        except BaseException as exc:
            error = exc
        exit()
        if task is not None:
            for watcher in self._watchers:
                watcher.step_finished(task, error)
        if error is not None:
            try:
                raise error
            finally:
                del error
        return result

    async def settle(self, owners: Sequence[str], ended: str) -> None:
        """Cancel the pending tasks made by steps of ``owners``; let the watchers judge."""
        __tracebackhide__ = True
        loop = asyncio.get_running_loop()
        tasks = self._take_tasks(owners, loop)
        outcome = LoopOutcome(ended=ended)
        if tasks:
            outcome.leftover_tasks = await _cancel(tasks)
            self._record_task_errors(tasks)
        outcome.loop_errors, self._loop_errors = self._loop_errors, []
        for watcher in self._watchers:
            watcher.checkpoint(outcome)

    def close(self, report: bool = True, judge_tasks: bool = True) -> None:
        """Cancel what is left, hand the worker back; the watchers may fail the test.

        Tasks still pending are leftovers unless ``judge_tasks`` is false
        (their owner is still to be torn down): then they are only cancelled.
        """
        if self._closed:
            return
        self._closed = True
        outcome = LoopOutcome()
        try:
            found: dict[asyncio.AbstractEventLoop, list[asyncio.Future[Any]]] = {}
            for _, task in self._tasks:
                if not task.done():
                    found.setdefault(task.get_loop(), []).append(task)
            self._tasks = []
            for loop, tasks in found.items():
                if not (loop.is_closed() or loop.is_running()):
                    leftovers = loop.run_until_complete(_cancel(tasks))
                    if judge_tasks:
                        outcome.leftover_tasks += leftovers
                    self._record_task_errors(tasks)
        finally:
            self.interrupted = self.interrupted or self._steps_running > 0
            released = self._release_worker(self.interrupted)
            self.cancelled_queries = released.cancelled
            outcome.stuck_sync_call = released.stuck or bool(released.cancelled)
            outcome.cancelled_queries = released.cancelled
            outcome.loop_errors, self._loop_errors = self._loop_errors, []
            self._stop_serving_async_backend()
            if self._opened:
                for watcher in self._watchers:
                    watcher.closed(outcome, report)

    def _enter(self, owner: str) -> Callable[[], None]:
        """Serve the calling coroutine's step; call the returned function when it ends."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "django-async-testcase can keep a test's database calls in its transaction "
                "only on an asyncio event loop, and this async test or fixture runs on "
                "another (trio?). Run database tests on asyncio (anyio: an anyio_backend "
                "fixture returning 'asyncio'), or switch the plugin off with "
                "-p no:django_async_testcase."
            ) from None
        if self._closed:
            raise RuntimeError(
                "This test's database access has ended (its transaction was rolled back); "
                "an async fixture or task of it ran afterwards."
            )
        if threading.current_thread() is not self.thread:
            raise RuntimeError(
                f"This async test or fixture runs on an event loop in the thread "
                f"{threading.current_thread().name!r}, but the test's transaction belongs to "
                f"the thread {self.thread.name!r}: its database calls could not be part of "
                f"the transaction. Run the loop on the thread that runs the test (as "
                f"pytest-asyncio and anyio do), or mark the test "
                f"@pytest.mark.django_db(transaction=True)."
            )
        worker = self.worker
        if worker is None:
            # Django's connections are per thread, and per context where a loop
            # runs: bind the thread's own, those of its sync code (the test's).
            with _stdlib.running_loop_hidden():
                worker = self._bind_worker()
        previous = _asgiref.thread_sensitive_executor()
        _asgiref.route_thread_sensitive_calls(worker)
        factory = loop.get_task_factory()
        _asgiref.route_new_tasks(loop, worker, lambda task: self._tasks.append((owner, task)))
        ours = loop.get_task_factory()
        handler = loop.get_exception_handler()
        if handler is None:
            loop.set_exception_handler(self._record_loop_error)
        self._steps_running += 1

        def exit() -> None:
            self._steps_running -= 1
            _asgiref.restore_thread_sensitive_routing(previous)
            if loop.get_task_factory() is ours:
                # Typeshed's task factory type has the keyword arguments only from 3.12.
                loop.set_task_factory(factory)  # type: ignore[arg-type,unused-ignore]
            if handler is None and loop.get_exception_handler() == self._record_loop_error:
                loop.set_exception_handler(None)

        return exit

    def interrupt(self) -> None:
        """The test was interrupted (KeyboardInterrupt): cancel its queries in flight now."""
        self.interrupted = True
        if self.worker is not None:
            self.worker.cancel_queries()

    def _take_tasks(
        self, owners: Sequence[str], loop: asyncio.AbstractEventLoop
    ) -> list[asyncio.Future[Any]]:
        """Forget the tasks of ``owners``; return those still pending on ``loop``."""
        taken, kept = [], []
        for owner, task in self._tasks:
            if task.done():
                continue
            if owner in owners and task.get_loop() is loop:
                taken.append(task)
            else:
                kept.append((owner, task))
        self._tasks = kept
        return taken

    def _record_task_errors(self, tasks: Sequence[asyncio.Future[Any]]) -> None:
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                self._loop_errors.append(
                    {
                        "message": "unhandled exception in a task cancelled at the end of the test",
                        "exception": task.exception(),
                        "task": task,
                    }
                )

    def _record_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self._loop_errors.append(context)
