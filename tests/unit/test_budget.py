"""The run's one budget of attempts in flight, and the estimate that orders the suites."""

from __future__ import annotations

import threading
import time

from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.model.cells import Attempt, Environment, ResultSet, judged_cell
from dlmatrix.model.estimates import WorkEstimate
from dlmatrix.model.libc import Libc
from dlmatrix.model.selector import Selector


def test_the_budget_bounds_attempts_in_flight_across_suites():
    budget, stop = CellBudget(2), threading.Event()
    assert budget.acquire("a", 10, stop) and budget.acquire("b", 5, stop)
    assert budget.in_flight == 2
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append("c") if budget.acquire("c", 1, stop) else None)
    waiter.start()
    time.sleep(0.3)
    assert got == []  # full: c waits
    budget.release()
    waiter.join(timeout=5)
    assert got == ["c"] and budget.in_flight == 2


def test_the_suite_with_most_work_left_goes_first():
    budget, stop = CellBudget(1), threading.Event()
    assert budget.acquire("holder", 0, stop)
    order: list[str] = []
    threads = [
        threading.Thread(
            target=lambda n=name, w=work: order.append(n) if budget.acquire(n, w, stop) else None
        )
        for name, work in (("short", 1.0), ("long", 100.0))
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    budget.release()  # one token: the long suite takes it
    time.sleep(0.3)
    assert order == ["long"]
    budget.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["long", "short"]


def test_a_stopped_run_stops_waiting():
    budget, stop = CellBudget(0), threading.Event()
    stop.set()
    assert budget.acquire("a", 1, stop) is False


def test_estimates_come_from_the_previous_run_else_a_default():
    matrix = load_matrix()
    selection = Selector.of(scenario="reopen", runtime="pinned")
    plain = WorkEstimate.of(matrix, ["x", "y"], selection, None)
    assert plain.seconds == {"x": 1.0, "y": 1.0}
    cell = judged_cell(
        matrix, Environment("y", Libc("glibc", "2.36"), None), "reopen", "pinned", ["pass"], [0]
    )
    cell.attempts = [Attempt("pass", 30.0), Attempt("pass", 10.0)]
    measured = WorkEstimate.of(matrix, ["x", "y"], selection, ResultSet({}, [cell]))
    assert measured.seconds == {"x": 1.0, "y": 20.0}
    assert measured.longest_first(["x", "y"]) == ["y", "x"]


def test_a_suite_that_ends_early_gives_back_its_tokens_without_waiting_for_more():
    """A suite that failed (riscv64's fork() once did) stops its feeder while it waits for a token:
    finish() must return, and give back what the suite held, or every other suite starves."""
    import io

    from dlmatrix.backends.oci.tokens import TokenFeeder

    budget, run_stop = CellBudget(2), threading.Event()
    feeder = TokenFeeder(budget, io.StringIO(), "failed", 10.0, run_stop)
    assert budget.acquire("other", 100, run_stop)  # another suite holds one token throughout
    feeder.start(5)  # plans five attempts; gets one token, then waits
    deadline = time.monotonic() + 5
    while feeder.granted < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    finisher = threading.Thread(target=feeder.finish)
    finisher.start()
    finisher.join(timeout=5)
    assert not finisher.is_alive(), "finish() waited for a token that never comes"
    assert budget.in_flight == 1  # the failed suite's token is back; the other suite's is held
