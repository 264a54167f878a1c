"""The "science" section of tests/bench/bench.py (issue 12): the scientific
stack on Debian's own Python 3.11 (/usr/bin/python3 with python3-numpy and
python3-matplotlib), a subcell process session on that Python (a worker
built for 3.11) beside an ipykernel on the same Python:

  - session start to the first result (1+1);
  - `import numpy`, then the round trip of a small numpy cell;
  - a matplotlib plot cell, until its image/png is at the client (the first
    one, which imports pyplot, and the next one).

Both sides are driven from here: subcell over its stdio with the small
JSON-RPC client below (no code shared with the server), the kernel with
bench.py's lean ZMQ client (its Kernel class, handed in by bench.py).

    measure(cfg, subcell, kernels, failed) -> (subcell's dict | None, the kernel's dict | None)
    rows(s, k, row, section)                the table's rows (s, k: those dicts, failures included)

A side that cannot be measured here for want of something outside the
benchmark (a subcell build without a 3.11 worker, a Python without numpy or
matplotlib) is recorded as {"unavailable": why}: the table says so and the
run goes on. Anything else that goes wrong is a {"failure": ...}.
"""

import base64
import json
import os
import re
import select
import struct
import subprocess
import sys
import time

PYTHON = "/usr/bin/python3"
START_CELL = "1+1"
IMPORT_CELL = "import numpy"
NUMPY_CELL = "int(numpy.arange(10).sum())"
NUMPY_VALUE = "45"
# The same cell on both sides; ipykernel shows it with its inline backend
# (ipykernel sets MPLBACKEND to matplotlib_inline's), subcell's worker with
# subcell's own backend: both send the figure as image/png.
PLOT_CELL = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"
PRIME = ("import io, numpy, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
         "plt.plot([1, 2, 3])\nplt.savefig(io.BytesIO(), format='png')\n")
TIMEOUT = 120  # s, for any one message (the first import of matplotlib can be slow on a busy machine)


class Unavailable(Exception):
    """Something outside the benchmark is missing: reported, not a failure."""


def _log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _reps(cfg):
    """(repetitions, numpy cells per repetition, warm-up cells)."""
    return (1, 20, 3) if cfg.quick else (5, 100, 10)


# ---- statistics (the shape of bench.py's stats()) ---------------------------------

def _percentile(values, p):
    v = sorted(values)
    pos = p / 100 * (len(v) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _stats(values):
    values = list(values)
    if not values:
        return {"n": 0}
    r = lambda x: round(x, 4)
    return {"n": len(values), "median": r(_percentile(values, 50)), "p10": r(_percentile(values, 10)),
            "p90": r(_percentile(values, 90)), "min": r(min(values)), "max": r(max(values))}


def _png_info(b64):
    """(width, height, bytes) of a base64 PNG; None when it is not one."""
    raw = base64.b64decode(b64)
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    w, h = struct.unpack(">II", raw[16:24])
    return [w, h, len(raw)]


class _Times:
    """Per-repetition figures, turned into stats at the end."""

    def __init__(self):
        self.values = {}

    def add(self, key, value):
        self.values.setdefault(key, []).append(value)

    def stats(self):
        return {k: _stats(v) for k, v in self.values.items()}


# ---- subcell: a small JSON-RPC client on the server's stdio -------------------------

class RpcError(Exception):
    def __init__(self, method, error):
        message = str(error.get("message"))
        if not message.startswith(method):
            message = f"{method}: {message}"
        super().__init__(f"{message} (code {error.get('code')})")
        self.code = error.get("code")


class Server:
    """`subcell serve` on pipes, LSP framing. Each message is timestamped when
    it has been read whole."""

    def __init__(self, binary, stderr_path):
        with open(stderr_path, "a") as err:
            self.proc = subprocess.Popen([binary, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err)
        self.buffer = b""
        self.next_id = 0

    def send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def receive(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if sep:
                length = int(re.search(rb"Content-Length: *(\d+)", head, re.I).group(1))
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return json.loads(rest[:length]), time.perf_counter()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise TimeoutError(f"subcell: no message in {timeout} s")
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise EOFError(f"subcell: the server exited (status {self.proc.wait()})")
            self.buffer += chunk

    def call(self, method, params=None, on_note=None):
        """(result, time the answer was read); RpcError for an error answer.
        on_note(message, t) sees every notification meanwhile."""
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            m, t = self.receive()
            if "method" not in m and m.get("id") == self.next_id:
                if "error" in m:
                    raise RpcError(method, m["error"])
                return m["result"], t
            if on_note and "method" in m:
                on_note(m, t)

    def close(self):
        try:
            self.call("shutdown")
            self.send({"jsonrpc": "2.0", "method": "exit"})
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a server that will not stop is killed
            self.proc.kill()
            self.proc.wait()


def _subcell_cell(server, session, code, want_png=False):
    """Runs a cell: (result, seconds until the reply, seconds until the first
    image/png display or None, that PNG's info)."""
    seen = {}

    def on_note(m, t):
        if (want_png and "png" not in seen and m["method"] == "cell/display"
                and "image/png" in m["params"].get("data", {})):
            seen["png"] = (t, m["params"]["data"]["image/png"])

    t0 = time.perf_counter()
    result, t = server.call("cell/run", {"session": session, "code": code}, on_note)
    err = result.get("error")
    if err:
        if err.get("type") == "ModuleNotFoundError":
            raise Unavailable(f"{PYTHON}: {err.get('message')} (apt-get install python3-numpy python3-matplotlib)")
        raise RuntimeError(f"subcell: the cell {code!r} failed: {err.get('type')}: {err.get('message')}")
    png_t, info = None, None
    if "png" in seen:
        png_t, info = seen["png"][0] - t0, _png_info(seen["png"][1])
    return result, t - t0, png_t, info


def measure_subcell(cfg, binary):
    reps, cells, warm = _reps(cfg)
    _log(f"science, subcell: process sessions on {PYTHON} ({reps} x: open -> 1+1, {IMPORT_CELL}, "
         f"{cells} numpy cells, 2 plots, close)")
    server = Server(binary, getattr(cfg, "server_stderr", "/dev/null"))
    times, rt_us, pooled, out = _Times(), [], 0, {"python": PYTHON, "reps": reps, "numpyCellsPerRep": cells}
    try:
        init, _ = server.call("initialize", {"clientInfo": {"name": "bench_science"}})
        out["serverPython"] = init.get("python")
        for rep in range(reps):
            time.sleep(0.2)  # as bench.py's kernel starts: let the server settle between them
            t0 = time.perf_counter()
            try:
                opened, t1 = server.call("session/open", {"python": PYTHON, "name": f"science-{rep}"})
            except RpcError as e:
                if rep == 0 and e.code == -32602:  # InvalidParams: a Python this build cannot run
                    raise Unavailable(f"{e} (session/open with python {PYTHON})") from e
                raise
            session = opened["session"]
            out["isolation"], out["sessionPython"] = opened.get("isolation"), opened.get("python")
            pooled += bool(opened.get("pooled"))
            first, secs, _, _ = _subcell_cell(server, session, START_CELL)
            t2 = time.perf_counter()
            if (first.get("value") or {}).get("text/plain") != "2":
                raise RuntimeError(f"subcell: 1+1 gave {first.get('value')}")
            times.add("totalMs", (t2 - t0) * 1e3)
            times.add("openMs", (t1 - t0) * 1e3)
            times.add("firstCellMs", secs * 1e3)

            r, secs, _, _ = _subcell_cell(server, session, IMPORT_CELL)
            times.add("importNumpyMs", secs * 1e3)
            times.add("importNumpyDurationMs", r["durationMs"])
            for i in range(warm + cells):
                r, secs, _, _ = _subcell_cell(server, session, NUMPY_CELL)
                if (r.get("value") or {}).get("text/plain") != NUMPY_VALUE:
                    raise RuntimeError(f"subcell: {NUMPY_CELL} gave {r.get('value')}")
                if i >= warm:
                    rt_us.append(secs * 1e6)

            for key in ("firstPlot", "nextPlot"):
                r, secs, png, info = _subcell_cell(server, session, PLOT_CELL, want_png=True)
                if png is None:
                    raise RuntimeError("subcell: the plot cell sent no image/png (cell/display)")
                times.add(key + "PngMs", png * 1e3)
                times.add(key + "ReplyMs", secs * 1e3)
                out["png"] = info

            tc = time.perf_counter()
            server.call("session/close", {"session": session})
            times.add("closeMs", (time.perf_counter() - tc) * 1e3)
    finally:
        server.close()
    out.update(times.stats())
    out["pooled"] = pooled
    out["numpyRoundTripUs"] = _stats(rt_us)
    return out


# ---- ipykernel: bench.py's Kernel (jupyter_client.session on raw pyzmq) --------------

def _kernel_cell(k, code, want=None, timeout=TIMEOUT):
    """Runs a cell; polls shell and iopub together so that each message is
    timed when it arrives. Returns (seconds until execute_reply, seconds until
    the first iopub message for which want(m) is true or None, that message).
    A cell whose iopub messages this client missed (iopub not connected yet)
    is not waited for: call k.wait_iopub_ready() first."""
    import zmq
    poller = zmq.Poller()
    poller.register(k.shell, zmq.POLLIN)
    poller.register(k.iopub, zmq.POLLIN)
    t0 = time.perf_counter()
    msg_id = k.send_execute(code)
    reply = wanted = idle = None
    deadline = time.monotonic() + timeout
    while reply is None or idle is None:
        ready = dict(poller.poll(1000))
        now = time.perf_counter()
        if not ready:
            if not k.km.is_alive():
                raise RuntimeError(f"kernel {k.pid} died")
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel: {code!r}: no answer in {timeout} s")
            continue
        for sock in (k.shell, k.iopub):
            while sock.poll(0):
                _, parts = k.session.feed_identities(sock.recv_multipart(copy=False), copy=False)
                m = k.session.deserialize(parts, content=True, copy=False)
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                if sock is k.shell:
                    reply = (now, m)
                elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    idle = now
                elif want and wanted is None and want(m):
                    wanted = (now, m)
    content = reply[1]["content"]
    if content.get("status") != "ok":
        if content.get("ename") == "ModuleNotFoundError":
            raise Unavailable(f"{PYTHON}: {content.get('evalue')} (apt-get install python3-numpy python3-matplotlib)")
        raise RuntimeError(f"kernel: the cell {code!r} failed: {content.get('ename')}: {content.get('evalue')}")
    return reply[0] - t0, (wanted[0] - t0 if wanted else None), (wanted[1] if wanted else None)


def _is_result(m):
    return m["msg_type"] == "execute_result"


def _is_png(m):
    return m["msg_type"] in ("display_data", "execute_result") and "image/png" in m["content"]["data"]


def measure_kernel(cfg, kernel_bench):
    reps, cells, warm = _reps(cfg)
    _log(f"science, ipykernel on {PYTHON} ({reps} x: start -> 1+1, {IMPORT_CELL}, {cells} numpy cells, "
         f"2 plots, shut down)")
    times, rt_us, value_us = _Times(), [], []
    out = {"python": PYTHON, "reps": reps, "numpyCellsPerRep": cells}
    for _ in range(reps):
        time.sleep(0.2)
        t0 = time.perf_counter()
        k = kernel_bench.kernel()
        try:
            t1 = time.perf_counter()
            k.reply(k.send_execute(START_CELL))
            t2 = time.perf_counter()
            times.add("totalMs", (t2 - t0) * 1e3)
            times.add("startKernelMs", (t1 - t0) * 1e3)
            times.add("untilFirstReplyMs", (t2 - t1) * 1e3)
            k.wait_iopub_ready()  # the values and figures come on iopub

            secs, _, _ = _kernel_cell(k, IMPORT_CELL)
            times.add("importNumpyMs", secs * 1e3)
            for i in range(warm + cells):
                secs, vsecs, m = _kernel_cell(k, NUMPY_CELL, _is_result)
                if m is None or m["content"]["data"].get("text/plain") != NUMPY_VALUE:
                    raise RuntimeError(f"kernel: {NUMPY_CELL} gave {m and m['content']['data']}")
                if i >= warm:
                    rt_us.append(max(secs, vsecs) * 1e6)  # the reply and the value both at the client
                    value_us.append(vsecs * 1e6)

            for key in ("firstPlot", "nextPlot"):
                secs, png, m = _kernel_cell(k, PLOT_CELL, _is_png)
                if png is None:
                    raise RuntimeError("kernel: the plot cell sent no image/png (is the inline backend there?)")
                times.add(key + "PngMs", png * 1e3)
                times.add(key + "ReplyMs", secs * 1e3)
                out["png"] = _png_info(m["content"]["data"]["image/png"])
        finally:
            tc = time.perf_counter()
            k.close(now=False)
            times.add("shutdownMs", (time.perf_counter() - tc) * 1e3)
    out.update(times.stats())
    out["numpyRoundTripUs"] = _stats(rt_us)
    out["numpyValueUs"] = _stats(value_us)
    return out


# ---- the section ------------------------------------------------------------------

def _python_version():
    try:
        return subprocess.run([PYTHON, "-c", "import platform; print(platform.python_version())"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _side(name, fn, failed):
    t0 = time.monotonic()
    try:
        out = fn()
    except Unavailable as e:
        _log(f"science, {name}: not measured: {e}")
        out = {"unavailable": str(e)}
    except Exception as e:  # noqa: BLE001 - reported, the other sections still run
        _log(f"science, {name} failed: {type(e).__name__}: {e}")
        out = {"failure": f"{type(e).__name__}: {e}"}
        failed.append(f"science ({name})")
    out["window"] = [t0, time.monotonic()]
    return out


def measure(cfg, subcell, kernels, failed):
    """subcell: the subcell binary, or None for no subcell side; kernels:
    bench.py's KernelBench class, or None for no kernel side. Returns
    (subcell's figures, the kernel's figures), None for a side not run."""
    version = _python_version()
    if not version:
        why = f"{PYTHON} is not there"
        return ({"unavailable": why} if subcell else None), ({"unavailable": why} if kernels else None)
    # Neither side should pay for a cold page cache or matplotlib's first-run
    # font cache: one plain run of the same imports first, not timed.
    try:
        subprocess.run([PYTHON, "-c", PRIME], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        pass  # the sides find out for themselves
    s = k = None
    if subcell:
        s = _side("subcell", lambda: measure_subcell(cfg, subcell), failed)
        s["pythonVersion"] = version
    if kernels:
        def run():
            kb = kernels(cfg)
            try:
                return measure_kernel(cfg, kb)
            finally:
                kb.close()
        k = _side("ipykernel", run, failed)
        k["pythonVersion"] = version
    return s, k


def _fmt(x):
    if x is None:
        return "-"
    ax = abs(x)
    digits = 0 if ax >= 100 else 1 if ax >= 10 else 2 if ax >= 1 else 3
    return f"{x:,.{digits}f}"


def _spread(st):
    if not st or not st.get("n"):
        return "-"
    if st["n"] == 1:
        return _fmt(st["median"])
    return f"{_fmt(st['median'])} ({_fmt(st['p10'])}-{_fmt(st['p90'])})"


def _ratio(kernel, subcell):
    if kernel is None or subcell is None or subcell == 0:
        return "-"
    r = kernel / subcell
    return f"{r:,.0f}x" if r >= 100 else f"{r:,.1f}x" if r >= 10 else f"{r:.2f}x"


def _med(d, key):
    return ((d or {}).get(key) or {}).get("median")


def _png(d):
    p = (d or {}).get("png")
    return f"{p[0]}x{p[1]}, {p[2] / 1024:.0f} KB" if p else "-"


def rows(s, k, row, section):
    """s, k: measure()'s two dicts (None for a side not run), failed and
    unavailable ones included: their reason is shown instead of figures."""
    if not s and not k:
        return
    notes, sm, km = [], {}, {}
    for who, d in (("subcell", s), ("ipykernel", k)):
        why = (d or {}).get("unavailable") or (d or {}).get("failure")
        if why:
            notes.append(f"  {who} not measured: {why}")
        elif d:
            (sm if who == "subcell" else km).update(d)
    reps = sm.get("reps") or km.get("reps")
    starts = f", {reps} start{'' if reps == 1 else 's'}" if reps else ""
    version = (s or {}).get("pythonVersion") or (k or {}).get("pythonVersion") or "?"
    section(f"10. Science: numpy and matplotlib on {PYTHON} ({version}), a subcell process session "
            f"(3.11 worker) vs ipykernel{starts}, ms", ("science", "science"))
    for n in notes:
        section(n)
    if not sm and not km:
        return

    def line(label, skey, kkey=None):
        kkey = kkey or skey
        sv, kv = sm.get(skey), km.get(kkey)
        row(label, _spread(sv), _spread(kv), _ratio(_med(km, kkey), _med(sm, skey)))

    line("  session start -> first result (open / start_kernel + 1+1)", "totalMs")
    if sm or km:
        row(f"    of which session/open ({sm.get('pooled', 0) if sm else '-'}/{reps} pooled) / start_kernel()",
            _spread(sm.get("openMs")), _spread(km.get("startKernelMs")))
    line("    of which the first cell, 1+1", "firstCellMs", "untilFirstReplyMs")
    line(f"  `{IMPORT_CELL}` cell", "importNumpyMs")
    if sm:
        row("    of which inside the worker (durationMs)", _spread(sm.get("importNumpyDurationMs")), "-")
    n = sm.get("numpyCellsPerRep") or km.get("numpyCellsPerRep")
    line(f"  then `{NUMPY_CELL}` round trip ({n} x {reps}), us", "numpyRoundTripUs")
    line("  plot cell (imports pyplot, plt.plot, plt.show) until image/png at the client", "firstPlotPngMs")
    line("  the next plot cell until image/png at the client", "nextPlotPngMs")
    row("  the image: pixels, PNG size", _png(sm), _png(km))
    row("  session/close / shutdown_kernel(now=False)", _spread(sm.get("closeMs")), _spread(km.get("shutdownMs")))
