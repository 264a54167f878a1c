"""The "channels" section of tests/bench/bench.py: what subcell_bench measured
of channels and child interpreters (channels_bench.inc), beside the same
exchanges between plain processes with multiprocessing (Pipe, Pool.map),
measured here, on the same machine, in the same run.

    measure(cfg) -> dict      multiprocessing's figures
    rows(s, m, row, section)  the table's rows (s: subcell's "channels", m: measure()'s)
"""

import multiprocessing as mp
import os
import time


def _echo(conn, n):
    for _ in range(n):
        conn.send(conn.recv())


def _sink(conn, count):
    # Receives `count` messages; reports (bytes after the first, seconds).
    n = len(conn.recv_bytes())
    t0 = time.perf_counter()
    total = 0
    for _ in range(count - 1):
        total += len(conn.recv_bytes())
    conn.send((total, time.perf_counter() - t0))


def _hold(conn):
    blob = conn.recv_bytes()
    conn.send(len(blob))


def _percentiles(ts):
    ts = sorted(ts)
    return {"median": ts[len(ts) // 2], "p10": ts[len(ts) // 10], "p90": ts[len(ts) * 9 // 10]}


def _ping_pong(ctx, n, warm):
    a, b = ctx.Pipe()
    p = ctx.Process(target=_echo, args=(b, n + warm))
    p.start()
    ts = []
    pc = time.perf_counter_ns
    for i in range(n + warm):
        t0 = pc()
        a.send(i)
        a.recv()
        ts.append((pc() - t0) / 1e3)
    p.join()
    out = _percentiles(ts[warm:])
    out["roundTrips"] = n
    return out


def _throughput(ctx, size, count):
    a, b = ctx.Pipe()
    p = ctx.Process(target=_sink, args=(b, count))
    p.start()
    msg = b"x" * size
    for _ in range(count):
        a.send_bytes(msg)
    total, secs = a.recv()
    p.join()
    return {"messageBytes": size, "messages": count, "mbPerS": total / secs / 1e6, "messagesPerS": (count - 1) / secs}


def _big(ctx, mb):
    a, b = ctx.Pipe()
    p = ctx.Process(target=_hold, args=(b,))
    p.start()
    blob = b"x" * (mb << 20)
    t0 = time.perf_counter()
    a.send_bytes(blob)
    a.recv()
    ms = (time.perf_counter() - t0) * 1e3
    p.join()
    return {"mb": mb, "sendMs": ms}


def _pool_map(ctx, n, warm):
    with ctx.Pool(1) as pool:
        for _ in range(warm):
            pool.map(abs, [1])
        ts = []
        pc = time.perf_counter_ns
        for _ in range(n):
            t0 = pc()
            pool.map(abs, [1])
            ts.append((pc() - t0) / 1e3)
    out = _percentiles(ts)
    out["runs"] = n
    return out


def measure(cfg):
    """multiprocessing between plain processes (fork context, the cheapest)."""
    ctx = mp.get_context("fork")
    quick = cfg.quick
    return {
        "python": os.path.realpath(os.sys.executable),
        "pingPong": _ping_pong(ctx, 1000 if quick else 20000, 100 if quick else 1000),
        "throughput1KB": _throughput(ctx, 1024, 2000 if quick else 50000),
        "throughput1MB": _throughput(ctx, 1 << 20, 50 if quick else 1000),
        "big100MB": _big(ctx, 100),
        "poolMap": _pool_map(ctx, 200 if quick else 3000, 20 if quick else 200),
    }


def _fmt(x, digits=1):
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _spread(p):
    if not p:
        return "-"
    return f"{_fmt(p['median'])} ({_fmt(p['p10'])}-{_fmt(p['p90'])})"


def _ratio(theirs, ours):
    if theirs is None or ours is None or ours == 0:
        return "-"
    r = theirs / ours
    return f"{r:,.1f}x" if r >= 10 else f"{r:.2f}x"


def rows(s, m, row, section):
    """s: subcell_bench's "channels"; m: measure()'s. The second column is
    multiprocessing between plain processes here (not ipykernel)."""
    if not s and not m:
        return
    s, m = s or {}, m or {}
    section("9. Channels and child interpreters (second column: multiprocessing between plain processes, "
            "Debian's python3, fork context)", ("channels", None))
    pp, mpp = s.get("pingPong"), m.get("pingPong")
    row("  channel round trip, 2 interpreter sessions (ping-pong of an int), us vs Pipe ping-pong", _spread(pp),
        _spread(mpp), _ratio(mpp and mpp["median"], pp and pp["median"]))
    ppp = s.get("pingPongProcess")
    if ppp:
        row("  channel round trip, interpreter <-> process session (via the server), us", _spread(ppp), _spread(mpp),
            _ratio(mpp and mpp["median"], ppp["median"]))
    for key, label in (("throughput1KB", "1 KB"), ("throughput1MB", "1 MB")):
        t, mt = s.get(key), m.get(key)
        row(f"  bytes through one channel, {label} messages (bytes), MB/s vs Pipe.send_bytes",
            _fmt(t and t["mbPerS"]), _fmt(mt and mt["mbPerS"]),
            _ratio(t and t["mbPerS"], mt and mt["mbPerS"]))
    tb = s.get("throughput1MBBuffer")
    if tb:
        row("  the same, 1 MB lent with send_buffer (no copy), MB/s", _fmt(tb["mbPerS"]),
            _fmt(m.get("throughput1MB", {}).get("mbPerS")),
            _ratio(tb["mbPerS"], m.get("throughput1MB", {}).get("mbPerS")))
    bb, by, mb = s.get("big100MBBuffer"), s.get("big100MBBytes"), m.get("big100MB")
    if bb:
        row("  100 MB lent (send_buffer): sender waits, ms; server RSS growth, MB",
            f"{_fmt(bb['sendMs'], 3)}; +{_fmt(bb['rssGrowthMb'])}", _fmt(mb and mb["sendMs"]),
            _ratio(mb and mb["sendMs"], bb["sendMs"]))
    if by:
        row("  100 MB copied once (send of bytes): sender waits, ms; server RSS growth, MB",
            f"{_fmt(by['sendMs'])}; +{_fmt(by['rssGrowthMb'])}", _fmt(mb and mb["sendMs"]),
            _ratio(mb and mb["sendMs"], by["sendMs"]))
    cr, pm = s.get("childRun"), m.get("poolMap")
    row("  (result, err) = child.run('1') round trip, us vs Pool(1).map(abs, [1])", _spread(cr), _spread(pm),
        _ratio(pm and pm["median"], cr and cr["median"]))
