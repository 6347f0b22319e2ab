"""Background backtests: one job per draft and account, one running at a time, a queue, cancellation,
reruns, failures, and the registry's bounds."""

from __future__ import annotations

import threading

import pytest

from core.errors import BadInput
from dashboard import _backtest_jobs as jobs
from dashboard._backtest_runner import Cancelled


def gated(gate: threading.Event, calls: list[str], name: str = "") -> jobs.Work:
    """Work that reports progress until ``gate`` opens (or it is cancelled), then returns a tiny result."""

    def work(progress, cancelled):
        calls.append(name)
        while not gate.wait(0.01):
            progress(0.5, "half")
            if cancelled():
                raise Cancelled()
        return {"total": len(calls)}, None

    return work


def test_one_job_per_draft_returns_the_running_job_and_reruns_only_when_asked() -> None:
    registry = jobs.Registry()
    gate, calls = threading.Event(), []
    first = registry.start("k", "alice", "规则", gated(gate, calls))
    again = registry.start("k", "alice", "规则", gated(gate, calls))
    assert again is first
    gate.set()
    assert registry.wait("k").state == jobs.DONE and first.result == {"total": 1}
    assert registry.start("k", "alice", "规则", gated(gate, calls)) is first  # finished: shown, not redone
    rerun = registry.start("k", "alice", "规则", gated(gate, calls), rerun=True)
    assert rerun is not first and registry.wait("k").result == {"total": 2}


def test_jobs_run_one_at_a_time_and_the_second_user_waits_in_the_queue() -> None:
    registry = jobs.Registry(max_running=1)
    gate_a, gate_b, calls = threading.Event(), threading.Event(), []
    a = registry.start("a", "alice", "A", gated(gate_a, calls, "a"))
    b = registry.start("b", "bob", "B", gated(gate_b, calls, "b"))
    for _ in range(1000):  # a thread may start late on a loaded machine
        if a.state == jobs.RUNNING and calls:
            break
        threading.Event().wait(0.01)
    assert (a.state, b.state, calls) == (jobs.RUNNING, jobs.QUEUED, ["a"])
    assert registry.jobs_of("bob") == [b] and registry.jobs_of("alice") == [a]
    gate_b.set()
    gate_a.set()
    assert registry.wait("a").state == jobs.DONE and registry.wait("b").state == jobs.DONE
    assert calls == ["a", "b"]


def test_cancelling_a_running_and_a_queued_job() -> None:
    registry = jobs.Registry(max_running=1)
    gate, calls = threading.Event(), []
    running = registry.start("r", "alice", "R", gated(gate, calls, "r"))
    queued = registry.start("q", "bob", "Q", gated(gate, calls, "q"))
    assert registry.cancel("q").state == jobs.CANCELLED  # leaves the queue at once
    registry.cancel("r")
    assert registry.wait("r").state == jobs.CANCELLED and running.result is None
    gate.set()
    queued.thread.join(2)
    running.thread.join(2)
    assert calls == ["r"]  # the queued one never ran
    # a cancelled draft starts afresh, and the slot was given back
    again = registry.start("r", "alice", "R", gated(gate, calls, "r2"))
    assert again is not running and registry.wait("r").state == jobs.DONE


def test_an_account_may_hold_only_a_few_unfinished_jobs() -> None:
    registry = jobs.Registry(max_per_account=2)
    gate, calls = threading.Event(), []
    registry.start("1", "alice", "1", gated(gate, calls))
    registry.start("2", "alice", "2", gated(gate, calls))
    with pytest.raises(BadInput, match="后台回测"):
        registry.start("3", "alice", "3", gated(gate, calls))
    registry.start("4", "bob", "4", gated(gate, calls))  # another account is not held back
    gate.set()
    for key in "124":
        assert registry.wait(key).state == jobs.DONE


def test_a_failing_job_says_why_and_frees_its_slot() -> None:
    registry = jobs.Registry(max_running=1)

    def bad_input(progress, cancelled):
        raise BadInput("规则无效")

    def crash(progress, cancelled):
        raise RuntimeError("secret detail")

    registry.start("bad", "alice", "x", bad_input)
    assert registry.wait("bad").error == "规则无效"
    registry.start("crash", "alice", "y", crash)
    job = registry.wait("crash")
    assert job.state == jobs.FAILED and job.error == "RuntimeError"  # no internals on the page
    registry.start("ok", "alice", "z", lambda progress, cancelled: ({"total": 0}, None))
    assert registry.wait("ok").state == jobs.DONE


def test_finished_jobs_are_dropped_beyond_the_bound() -> None:
    registry = jobs.Registry(keep=2)
    for key in "abcd":
        registry.start(key, "alice", key, lambda progress, cancelled: ({"total": 0}, None))
        registry.wait(key)
    registry.start("e", "alice", "e", lambda progress, cancelled: ({"total": 0}, None))
    assert {j.key for j in registry.jobs_of("alice")} == {"c", "d", "e"}


def test_the_key_names_who_and_what() -> None:
    base = jobs.draft_key("alice", "super", {"all": True}, {"name": "r", "keywords": ["回扣"]}, range=(1, 2))
    assert base == jobs.draft_key("alice", "super", {"all": True}, {"keywords": ["回扣"], "name": "r"}, range=(1, 2))
    assert base != jobs.draft_key("bob", "super", {"all": True}, {"name": "r", "keywords": ["回扣"]}, range=(1, 2))
    assert base != jobs.draft_key("alice", "viewer", {"all": True}, {"name": "r", "keywords": ["回扣"]}, range=(1, 2))
    assert base != jobs.draft_key("alice", "super", {"all": True}, {"name": "r", "keywords": ["返点"]}, range=(1, 2))
    assert base != jobs.draft_key(
        "alice", "super", {"all": True}, {"name": "r", "keywords": ["回扣"]}, range=(None, None)
    )
