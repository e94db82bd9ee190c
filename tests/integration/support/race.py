"""Races: calls run in threads of their own and released together by a barrier."""

import threading


def run_together(fns):
    """Runs every fn in its own thread: fn() prepares (connects) and returns the call,
    and the barrier releases the calls together. Returns their results in order (an
    exception counts as a result)."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def worker(i, fn):
        try:
            ready = fn()        # connect first: the barrier releases the calls only
            barrier.wait(timeout=60)
            results[i] = ready()
        except Exception as e:  # noqa: BLE001 - reported as a result
            results[i] = ("exception", repr(e))

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a call did not finish within 120 s"
    return results
