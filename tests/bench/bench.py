#!/usr/bin/python3
"""subcell against Jupyter kernels (ipykernel), side by side.

Runs the subcell half with the C++ client (subcell_bench, which speaks the
protocol over the server's stdio), runs the same measurements against
ipykernel through jupyter_client over ZMQ, and prints one table:

    figure | subcell | ipykernel | ipykernel / subcell | target

plus bench-results.json (machine, versions, every raw statistic).
Nothing is asserted about timings: the benchmark prints. The exit status is
non-zero only when a measurement could not be made.

    /usr/bin/python3 tests/bench/bench.py --subcell build/src/subcell \
        --client build/tests/bench/subcell_bench [--quick] [--out FILE]

Spread is p10-p90 unless a row says otherwise. Medians everywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_channels  # the channels section (beside this file)
import bench_science  # the science section: numpy, matplotlib on /usr/bin/python3

SECTIONS = ["server_start", "session_start", "round_trip", "reset", "memory",
            "parallel", "streaming", "many_sessions", "churn", "channels", "science"]

# The same cells as subcell_bench.cpp.
CPU_CELL = ("def _work(n):\n"
            "    s = 0\n"
            "    for i in range(n):\n"
            "        s += i * i % 7\n"
            "    return s\n"
            "_work(1_500_000)")
MEM_CELL = "import json, re, collections"


LONG_LINE = 100  # bytes per line of the long-line streaming cell, newline included


def stream_print(long_lines: bool) -> str:
    return "print(_s)" if long_lines else "print('line', i)"


def stream_cell(lines: int, long_lines: bool = False) -> str:
    return f"_s = 'x' * {LONG_LINE - 1}\nfor i in range({lines}):\n    {stream_print(long_lines)}"


def stream_bytes(lines: int, long_lines: bool = False) -> int:
    if long_lines:
        return lines * LONG_LINE
    return sum(len(f"line {i}\n") for i in range(lines))


NULL_SINK = "_types.SimpleNamespace(write=len, flush=lambda: None)"


def stream_floor_cell(lines: int, long_lines: bool = False) -> str:
    """The same prints into a sink whose write is the builtin len: the cost of
    the print() calls alone, with no output path (the cell's MB/s ceiling)."""
    return ("import contextlib as _cl, time as _time, types as _types\n"
            f"_s = 'x' * {LONG_LINE - 1}\n"
            "_t0 = _time.perf_counter()\n"
            f"with _cl.redirect_stdout({NULL_SINK}):\n"
            f"    for i in range({lines}):\n"
            f"        {stream_print(long_lines)}\n"
            "(_time.perf_counter() - _t0) * 1000")


def reset_fill_cell(names: int) -> str:
    return f"for _i in range({names}):\n    globals()[f'v{{_i}}'] = _i\ndel _i"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---- statistics --------------------------------------------------------------

def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    pos = p / 100 * (len(v) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def stats(values):
    values = list(values)
    if not values:
        return {"n": 0}
    r = lambda x: round(x, 4)
    return {"n": len(values), "median": r(percentile(values, 50)), "p10": r(percentile(values, 10)),
            "p90": r(percentile(values, 90)), "p99": r(percentile(values, 99)),
            "min": r(min(values)), "max": r(max(values)), "mean": r(sum(values) / len(values))}


# ---- /proc -------------------------------------------------------------------

def proc_kb(pid, file, key):
    try:
        with open(f"/proc/{pid}/{file}") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb_fast(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return 0


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    """pid and every process below it."""
    return process_trees([pid])


def process_trees(roots):
    """The roots and every process below them (one scan of /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(roots)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_of(pids):
    return {"rssKb": sum(proc_kb(p, "status", "VmRSS") for p in pids),
            "pssKb": sum(proc_kb(p, "smaps_rollup", "Pss") for p in pids),
            "privateKb": sum(proc_kb(p, "smaps_rollup", "Private_Dirty") + proc_kb(p, "smaps_rollup", "Private_Clean")
                             for p in pids)}


class RssSampler:
    """Samples the summed RSS of a changing set of processes."""

    def __init__(self, pids_fn, every=0.02):
        self.pids_fn, self.every, self.peak_kb, self.samples = pids_fn, every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(rss_kb_fast(p) for p in self.pids_fn()))
            self.samples += 1
            self._stop.wait(self.every)

    def stop(self):
        self._stop.set()
        self._thread.join()


# ---- the kernel half -----------------------------------------------------------

class KernelDied(RuntimeError):
    pass


class Kernel:
    """One ipykernel, started by jupyter_client's KernelManager, driven by a lean
    ZMQ client (jupyter_client.session.Session on raw pyzmq sockets: the same
    wire protocol as BlockingKernelClient, without its asyncio layer, so the
    client does not dominate the figures)."""

    def __init__(self, context, stderr):
        from jupyter_client.manager import KernelManager
        from jupyter_client.session import Session
        self._zmq_context = context
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(stderr=stderr, stdout=stderr)
        self.pid = self.km.provisioner.process.pid
        self.session = Session(key=self.km.session.key, signature_scheme=self.km.session.signature_scheme)
        self._connect()

    def _connect(self):
        import zmq
        ci = self.km.get_connection_info(session=False)
        self.shell = self._zmq_context.socket(zmq.DEALER)
        self.shell.linger = 0
        self.shell.connect(f"{ci['transport']}://{ci['ip']}:{ci['shell_port']}")
        self.iopub = self._zmq_context.socket(zmq.SUB)
        self.iopub.linger = 0
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(f"{ci['transport']}://{ci['ip']}:{ci['iopub_port']}")

    def send_execute(self, code):
        msg = self.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                                    "user_expressions": {}, "allow_stdin": False,
                                                    "stop_on_error": True})
        self.session.send(self.shell, msg)
        return msg["header"]["msg_id"]

    def _recv(self, sock, timeout):
        deadline = time.monotonic() + timeout
        while not sock.poll(min(1.0, max(deadline - time.monotonic(), 0)) * 1000):
            if not self.km.is_alive():
                raise KernelDied(f"kernel {self.pid} died (exit status {self.km.provisioner.process.poll()})")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"kernel {self.pid}: no message in {timeout} s")
        _, parts = self.session.feed_identities(sock.recv_multipart(copy=False), copy=False)
        return self.session.deserialize(parts, content=True, copy=False)

    def reply(self, msg_id, timeout=120):
        while True:
            m = self._recv(self.shell, timeout)
            if m["parent_header"].get("msg_id") == msg_id:
                if m["content"].get("status") != "ok":
                    raise RuntimeError(f"kernel cell failed: {m['content']}")
                return m

    def until_idle(self, msg_id, on_message=None, timeout=120):
        while True:
            m = self._recv(self.iopub, timeout)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if on_message:
                on_message(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return m

    def run(self, code):
        """Executes and waits for the reply and for iopub's idle."""
        msg_id = self.send_execute(code)
        r = self.reply(msg_id)
        self.until_idle(msg_id)
        return r

    def wait_iopub_ready(self, timeout=60):
        """Runs cells until iopub delivers (a SUB socket misses what is published
        before its subscription reaches the kernel)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg_id = self.send_execute("1+1")
            self.reply(msg_id)
            try:
                self.until_idle(msg_id, timeout=0.5)
                return
            except TimeoutError:
                continue
        raise TimeoutError("iopub never connected")

    def drain_iopub(self):
        while self.iopub.poll(0):
            self.iopub.recv_multipart()

    def pids(self):
        return descendants(self.pid)

    def restart(self):
        self.km.restart_kernel(now=False)
        self.pid = self.km.provisioner.process.pid

    def close(self, now=True):
        self.shell.close(0)
        self.iopub.close(0)
        self.km.shutdown_kernel(now=now)


class KernelBench:
    def __init__(self, cfg):
        import zmq
        self.cfg = cfg
        self.context = zmq.Context()
        self.stderr = open(cfg.kernel_stderr, "a")

    def kernel(self):
        return Kernel(self.context, self.stderr)

    def session_start(self):
        log("kernel start (KernelManager.start_kernel to the first execute_reply of 1+1)")
        total, launch, first = [], [], []
        for _ in range(self.cfg.start_reps):
            time.sleep(0.2)
            t0 = time.perf_counter()
            k = self.kernel()
            t1 = time.perf_counter()
            k.reply(k.send_execute("1+1"))
            t2 = time.perf_counter()
            total.append((t2 - t0) * 1e3)
            launch.append((t1 - t0) * 1e3)
            first.append((t2 - t1) * 1e3)
            k.close(now=False)
        return {"totalMs": stats(total), "startKernelMs": stats(launch), "untilFirstReplyMs": stats(first),
                "note": "KernelManager() + start_kernel() + connect, execute 1+1 at once, until its execute_reply"}

    def round_trip(self):
        n = self.cfg.rt_cells
        log(f"kernel round trip (1+1 over ZMQ, {n} cells)")
        k = self.kernel()
        k.wait_iopub_ready()
        for _ in range(self.cfg.rt_warmup):
            k.run("1+1")
        reply_us, idle_us = [], []
        c0, k0, w0 = time.process_time(), proc_cpu_s(k.pid), time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            msg_id = k.send_execute("1+1")
            k.reply(msg_id)
            t1 = time.perf_counter()
            k.until_idle(msg_id)
            t2 = time.perf_counter()
            reply_us.append((t1 - t0) * 1e6)
            idle_us.append((t2 - t0) * 1e6)
        wall = time.perf_counter() - w0
        client_cpu, kernel_cpu = time.process_time() - c0, proc_cpu_s(k.pid) - k0
        out = {"cells": n, "roundTripUs": stats(reply_us), "untilIdleUs": stats(idle_us),
               "clientCpuUsPerCell": client_cpu / n * 1e6, "kernelCpuUsPerCell": kernel_cpu / n * 1e6,
               "wallUsPerCell": wall / n * 1e6}
        # The same with jupyter_client's own BlockingKernelClient, for reference.
        kc = k.km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        blocking = []
        for _ in range(max(n // 5, 50)):
            t0 = time.perf_counter()
            msg_id = kc.execute("1+1")
            while kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
                pass
            blocking.append((t0, time.perf_counter()))
            while True:
                m = kc.get_iopub_msg(timeout=60)
                if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                        and m["content"]["execution_state"] == "idle"):
                    break
        kc.stop_channels()
        out["blockingKernelClientRoundTripUs"] = stats([(b - a) * 1e6 for a, b in blocking])
        k.close()
        return out

    def round_trip_one_cpu(self):
        """The same round trip with the client and the kernel on one CPU."""
        import zmq
        n = self.cfg.pinned_cells
        log(f"kernel round trip pinned to CPU 0 ({n} cells)")
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
        context = zmq.Context()  # its I/O thread inherits the affinity
        try:
            k = Kernel(context, self.stderr)
            k.wait_iopub_ready()
            for _ in range(self.cfg.rt_warmup):
                k.run("1+1")
            rt = []
            for _ in range(n):
                t0 = time.perf_counter()
                msg_id = k.send_execute("1+1")
                k.reply(msg_id)
                rt.append((time.perf_counter() - t0) * 1e6)
                k.until_idle(msg_id)
            k.close()
        finally:
            os.sched_setaffinity(0, saved)
            context.destroy(0)
        return {"cells": n, "roundTripUs": stats(rt)}

    def restart(self):
        names = self.cfg.reset_names
        log(f"kernel restart ({names} names)")
        k = self.kernel()
        k.wait_iopub_ready()
        fill = reset_fill_cell(names)
        restart_ms, until_reply_ms = [], []
        for _ in range(self.cfg.restart_reps):
            k.run(fill)
            k.drain_iopub()
            t0 = time.perf_counter()
            k.restart()
            t1 = time.perf_counter()
            r = k.reply(k.send_execute("v1 = 1\n1+1"))
            t2 = time.perf_counter()
            restart_ms.append((t1 - t0) * 1e3)
            until_reply_ms.append((t2 - t0) * 1e3)
            time.sleep(0.2)
            k.drain_iopub()
            assert r["content"]["execution_count"] == 1, "the kernel did not restart"
        k.close()
        return {"names": names, "restartUntilReplyMs": stats(until_reply_ms), "restartKernelMs": stats(restart_ms),
                "note": "restart_kernel(now=False) (shutdown_request, wait, start a new process), then 1+1 until execute_reply"}

    def memory(self):
        n = self.cfg.mem_kernels
        log(f"kernel memory ({n} idle kernels after `{MEM_CELL}`)")
        kernels = [self.kernel() for _ in range(n)]
        per_rss, per_pss, per_private = [], [], []
        for k in kernels:
            k.wait_iopub_ready()
            k.run(MEM_CELL)
        time.sleep(0.5)
        for k in kernels:
            m = memory_of(k.pids())
            per_rss.append(m["rssKb"] / 1024)
            per_pss.append(m["pssKb"] / 1024)
            per_private.append(m["privateKb"] / 1024)
        processes = sum(len(k.pids()) for k in kernels)
        for k in kernels:
            k.close()
        return {"kernels": n, "processesPerKernel": processes / n, "cell": MEM_CELL,
                "rssMbPerKernel": stats(per_rss), "pssMbPerKernel": stats(per_pss),
                "privateMbPerKernel": stats(per_private),
                "rssMbSum": sum(per_rss), "pssMbSum": sum(per_pss),
                "note": "each kernel's process tree, after the cell; the client (this process) not counted"}

    def parallel(self):
        log("kernel parallel (CPU-bound cell in N kernels at once)")
        out = {"cell": CPU_CELL, "cellsPerKernel": self.cfg.parallel_cells, "byN": {}}
        base = None
        for n in self.cfg.parallel_n:
            kernels = [self.kernel() for _ in range(n)]
            for k in kernels:
                k.wait_iopub_ready()
                k.run(CPU_CELL)
            throughput = []
            for _ in range(self.cfg.parallel_reps):
                t0 = time.perf_counter()
                pending = [(k, k.send_execute(CPU_CELL)) for _ in range(self.cfg.parallel_cells) for k in kernels]
                for k, msg_id in pending:
                    k.reply(msg_id)
                throughput.append(n * self.cfg.parallel_cells / (time.perf_counter() - t0))
                for k in kernels:
                    k.drain_iopub()
            for k in kernels:
                k.close()
            median = percentile(throughput, 50)
            base = base or median
            out["byN"][str(n)] = {"kernels": n, "cellsPerS": stats(throughput), "scaling": median / base}
            log(f"  N={n}: {median:.2f} cells/s")
        return out

    def streaming_long(self):
        return self.streaming(long_lines=True)

    def streaming(self, long_lines=False):
        lines = self.cfg.stream_lines
        log(f"kernel streaming ({lines} printed{' 100-byte' if long_lines else ''} lines)")
        k = self.kernel()
        k.wait_iopub_ready()
        code = stream_cell(lines, long_lines)
        expected = stream_bytes(lines, long_lines)
        times, mbps, messages, cpu, floor = [], [], [], [], []
        for rep in range(self.cfg.stream_reps + 1):
            counts = {"messages": 0, "bytes": 0}

            def on_message(m):
                if m["msg_type"] == "stream":
                    counts["messages"] += 1
                    counts["bytes"] += len(m["content"]["text"].encode())

            c0 = time.process_time()
            t0 = time.perf_counter()
            msg_id = k.send_execute(code)
            # Everything printed is on iopub before the kernel goes idle.
            k.until_idle(msg_id, on_message)
            k.reply(msg_id)
            t = time.perf_counter() - t0
            if counts["bytes"] != expected:
                raise RuntimeError(f"kernel streaming: {counts['bytes']} bytes, expected {expected}")
            if rep == 0:
                continue
            times.append(t * 1e3)
            mbps.append(expected / t / 1e6)
            messages.append(counts["messages"])
            cpu.append((time.process_time() - c0) * 1e3)
            value = {}
            msg_id = k.send_execute(stream_floor_cell(lines, long_lines))
            k.until_idle(msg_id, lambda m: m["msg_type"] == "execute_result" and value.update(m["content"]["data"]))
            k.reply(msg_id)
            floor.append(float(value["text/plain"]))
        k.close()
        return {"lines": lines, "lineBytes": LONG_LINE if long_lines else "short", "textBytes": expected,
                "timeMs": stats(times), "mbPerS": stats(mbps),
                "messages": stats(messages), "clientCpuMs": stats(cpu), "printToNullSinkMs": stats(floor)}

    def many(self):
        n = self.cfg.many_kernels
        log(f"many kernels ({n}: start all, run a cell in each, shut all down)")
        kernels = []
        sampler = RssSampler(lambda: process_trees([k.pid for k in list(kernels)]), every=0.1)
        failures, errors = 0, []
        t0 = time.perf_counter()
        for _ in range(n):
            kernels.append(self.kernel())
        # The first execute_reply of each: the kernel is up. A kernel can die
        # at boot when another socket took one of the ports jupyter_client
        # picked for it (ZMQError: Address already in use; the ports are
        # chosen free, then bound later by the kernel process, and this
        # process's own connections take ephemeral ports meanwhile). Such a
        # kernel is counted, then replaced, as a frontend would restart it.
        boot_failures = 0
        for i, k in enumerate(kernels):
            for attempt in range(5):
                try:
                    k.reply(k.send_execute("1+1"), timeout=300)
                    break
                except KernelDied as e:
                    boot_failures += 1
                    errors.append(f"at boot: {e}")
                    k.close()
                    k = kernels[i] = self.kernel()
            else:
                raise RuntimeError("a kernel failed to boot five times")
        t1 = time.perf_counter()
        pending = [(k, k.send_execute("import json\nlen(json.dumps(list(range(100))))")) for k in kernels]
        for k, msg_id in pending:
            try:
                k.reply(msg_id)
            except Exception as e:  # noqa: BLE001 - counted and reported
                failures += 1
                errors.append(str(e)[:300])
        t2 = time.perf_counter()
        all_open = memory_of(process_trees([k.pid for k in kernels]))
        for k in kernels:
            k.shell.close(0)
            k.iopub.close(0)
            k.km.request_shutdown()
        for k in kernels:
            k.km.finish_shutdown()
            k.km.cleanup_resources()
        t3 = time.perf_counter()
        sampler.stop()
        return {"kernels": n, "startMs": (t1 - t0) * 1e3, "runMs": (t2 - t1) * 1e3, "shutdownMs": (t3 - t2) * 1e3,
                "totalMs": (t3 - t0) * 1e3, "failures": failures, "bootFailuresReplaced": boot_failures,
                "errors": errors[:5], "allOpen": all_open,
                "peakRssMb": max(sampler.peak_kb, all_open["rssKb"]) / 1024, "rssSamples": sampler.samples,
                "why": self.cfg.many_kernels_why}

    def close(self):
        self.context.destroy(0)
        self.stderr.close()


def process_scaling(cfg):
    """The machine's own ceiling: N plain python3 processes running the CPU cell,
    no IPC at all."""
    log("machine baseline: N independent python3 processes running the CPU cell")
    script = CPU_CELL + f"\nfor _ in range({cfg.parallel_cells}):\n    _work(1_500_000)\n"
    out, base = {}, None
    for n in cfg.parallel_n:
        rates = []
        for _ in range(cfg.parallel_reps + 2):
            procs = []
            t0 = time.perf_counter()
            for _ in range(n):
                procs.append(subprocess.Popen([sys.executable, "-c", script]))
            for p in procs:
                p.wait()
            # The interpreter's own start (~15 ms) is included; it is small next to the cells.
            rates.append(n * cfg.parallel_cells / (time.perf_counter() - t0))
        median = percentile(rates, 50)
        base = base or median
        out[str(n)] = {"processes": n, "cellsPerS": stats(rates), "scaling": median / base}
    return {"python": platform.python_version(), "byN": out}


# ---- machine ---------------------------------------------------------------------

def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    info = {"nproc": os.cpu_count(), "cpuModel": cpu, "memTotalGb": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "os": "", "driverPython": platform.python_version()}
    try:
        with open("/etc/os-release") as f:
            info["os"] = re.search(r'PRETTY_NAME="([^"]*)"', f.read()).group(1)
    except (OSError, AttributeError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            info["cgroupCpuMax"] = f.read().strip()
    except OSError:
        pass
    return info


class CpuMonitor:
    """Samples, a few times a second, the CPU time the whole machine spent busy
    and the CPU time of this benchmark's own processes (this one, its live
    descendants, and every descendant already reaped), so that each section
    can say how much *other* work shared the CPUs while it ran."""

    def __init__(self, every=0.2):
        import resource
        self._resource = resource
        self.samples = []
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _own(self):
        r = self._resource
        s, c = r.getrusage(r.RUSAGE_SELF), r.getrusage(r.RUSAGE_CHILDREN)
        own = s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
        tick = os.sysconf("SC_CLK_TCK")
        for pid in process_trees([os.getpid()])[1:]:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    v = f.read().rsplit(")", 1)[1].split()
                own += (int(v[11]) + int(v[12]) + int(v[13]) + int(v[14])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return own

    def _sample(self):
        self.samples.append((time.monotonic(), LoadMeter._busy()[0], self._own()))

    def _run(self):
        while not self._stop.wait(0.2):
            self._sample()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self._sample()

    def others_share(self, t0, t1):
        """Share of the machine (0..1) used by other processes in [t0, t1]."""
        before = [x for x in self.samples if x[0] <= t0] or self.samples[:1]
        after = [x for x in self.samples if x[0] >= t1] or self.samples[-1:]
        a, b = before[-1], after[0]
        wall = b[0] - a[0]
        if wall <= 0:
            return None
        return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / (wall * (os.cpu_count() or 1)))


class LoadMeter:
    """How busy the machine was with work that is not this benchmark's: the
    benchmark shares the CPUs with whatever else runs."""

    def __init__(self):
        self.loadavg0 = os.getloadavg()
        self.busy0, self.total0 = self._busy()
        self.own0 = self._own()
        self.t0 = time.monotonic()

    @staticmethod
    def _busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK"), sum(v[:8]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own():
        import resource
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def finish(self):
        busy1, total1 = self._busy()
        wall = time.monotonic() - self.t0
        busy = busy1 - self.busy0
        own = self._own() - self.own0
        cpus = os.cpu_count() or 1
        return {"loadavgAtStart": [round(x, 2) for x in self.loadavg0], "loadavgAtEnd": [round(x, 2) for x in os.getloadavg()],
                "wallS": round(wall, 1), "busyCpuS": round(busy, 1), "benchmarkCpuS": round(own, 1),
                "otherCpuS": round(max(busy - own, 0), 1),
                "otherShareOfMachine": round(max(busy - own, 0) / (wall * cpus), 3)}


def kernel_versions():
    import ipykernel
    import jupyter_client
    import zmq
    return {"jupyter_client": jupyter_client.__version__, "ipykernel": ipykernel.__version__,
            "pyzmq": zmq.__version__, "libzmq": zmq.zmq_version(),
            "kernelPython": subprocess.run(["/usr/bin/python3", "-c", "import platform; print(platform.python_version())"],
                                           capture_output=True, text=True).stdout.strip(),
            "kernelArgv": __import__("jupyter_client.kernelspec", fromlist=["x"]).KernelSpecManager()
            .get_kernel_spec("python3").argv}


def build_type(binary):
    """CMAKE_BUILD_TYPE of the build the subcell binary comes from."""
    for parent in Path(binary).resolve().parents:
        cache = parent / "CMakeCache.txt"
        if cache.exists():
            m = re.search(r"^CMAKE_BUILD_TYPE:[A-Z]+=(.*)$", cache.read_text(errors="replace"), re.M)
            return m.group(1) if m else "unknown"
    return "unknown"


def subcell_python(binary):
    """The CPython executable the subcell build embeds (from its CMakeCache)."""
    for parent in Path(binary).resolve().parents:
        cache = parent / "CMakeCache.txt"
        if cache.exists():
            m = re.search(r"^_?Python3_EXECUTABLE:[A-Z]+=(.*)$", cache.read_text(errors="replace"), re.M)
            return m.group(1) if m else None
    return None


PYTHON_PROBE = CPU_CELL.replace("_work(1_500_000)", "") + """
import contextlib, json, sys, time, types
t = time.perf_counter(); _work(1_500_000); cpu = (time.perf_counter() - t) * 1000
t = time.perf_counter()
with contextlib.redirect_stdout(types.SimpleNamespace(write=len, flush=lambda: None)):
    for i in range(int(sys.argv[1])):
        print('line', i)
prints = (time.perf_counter() - t) * 1000
print(json.dumps({"version": sys.version.split()[0], "executable": sys.executable,
                  "cpuCellMs": cpu, "printToNullSinkMs": prints}))
"""


def probe_python(executable, lines):
    """Plain-interpreter speed, outside any server: explains absolute figures."""
    if not executable or not os.path.exists(executable):
        return None
    runs = []
    for _ in range(3):
        p = subprocess.run([executable, "-c", PYTHON_PROBE, str(lines)], capture_output=True, text=True)
        if p.returncode != 0:
            return {"executable": executable, "error": p.stderr[-300:]}
        runs.append(json.loads(p.stdout))
    out = runs[0]
    out["cpuCellMs"] = percentile([r["cpuCellMs"] for r in runs], 50)
    out["printToNullSinkMs"] = percentile([r["printToNullSinkMs"] for r in runs], 50)
    return out


def git_describe(path):
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---- the table ---------------------------------------------------------------------

def g(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def fmt(x, unit="", digits=None):
    if x is None:
        return "-"
    if digits is None:
        ax = abs(x)
        digits = 0 if ax >= 100 else 1 if ax >= 10 else 2 if ax >= 1 else 3
    return f"{x:,.{digits}f}{unit}"


def spread(s, unit="", scale=1.0, p="p90"):
    """'median (p10-p90)' of a stats dict."""
    if not s or not s.get("n"):
        return "-"
    m = s["median"] * scale
    return f"{fmt(m, unit)} ({fmt(s['p10'] * scale)}-{fmt(s[p] * scale)})"


def ratio(kernel, subcell):
    if kernel is None or subcell is None or subcell == 0:
        return "-"
    r = kernel / subcell
    return f"{r:,.0f}x" if r >= 100 else f"{r:,.1f}x" if r >= 10 else f"{r:.2f}x"


def check(ok):
    return "met" if ok else "NOT met"


def build_rows(r):
    def usable(side):  # sections that failed are left out of the table (their error is in the JSON)
        return {key: v for key, v in (side or {}).items() if not (isinstance(v, dict) and "failure" in v)}

    s, k = usable(r.get("subcell")), usable(r.get("ipykernel"))
    rows = []

    def row(name, sv, kv, ra="-", target="-"):
        rows.append((name, sv, kv, ra, target))

    def section(title, *keys):
        """A heading; keys name the sections ((subcell key, kernel key)) whose
        disturbance by other work it reports."""
        notes = []
        for sk, kk in keys:
            for who, key, side in (("subcell", sk, s), ("kernel", kk, k)):
                share = g(side, key, "othersCpuShare") if key else None
                if share is not None and share >= 0.05:
                    notes.append(f"{who} {share * 100:.0f}%")
        if notes:
            title += f"   [other processes used the CPUs meanwhile: {', '.join(notes)}]"
        rows.append((title,))

    # 1. session start
    section("1. Session start (request -> first cell 1+1 answered), ms", ("sessionStart", "sessionStart"),
            ("processSessionStart", None))
    warm, cold, ks = g(s, "sessionStart", "warm"), g(s, "sessionStart", "cold"), g(k, "sessionStart")
    kmed = g(ks, "totalMs", "median")
    if warm:
        wm = warm["totalMs"]["median"]
        row("  warm pool (default): open + 1+1", spread(warm["totalMs"]), spread(g(ks, "totalMs")),
            ratio(kmed, wm), f"<1 ms with a ready pool: {check(wm < 1)}")
        row(f"    of which session/open ({warm['pooled']}/{warm['reps']} pooled)", spread(warm["openMs"]), "-")
        row("    of which first cell", spread(warm["firstCellMs"]), spread(g(ks, "untilFirstReplyMs")))
    if cold:
        cm = cold["totalMs"]["median"]
        row("  cold (--pool-size 0): open + 1+1", spread(cold["totalMs"]), spread(g(ks, "totalMs")),
            ratio(kmed, cm), f"<5 ms: {check(cm < 5)}")
    pwarm, pcold = g(s, "processSessionStart", "warm"), g(s, "processSessionStart", "cold")
    if pwarm:
        row("  process session, warm (--process-pool-size 1): open + 1+1", spread(pwarm["totalMs"]),
            spread(g(ks, "totalMs")), ratio(kmed, pwarm["totalMs"]["median"]))
        row(f"    of which session/open ({pwarm['pooled']}/{pwarm['reps']} pooled)", spread(pwarm["openMs"]), "-")
    if pcold:
        row("  process session, cold (--process-pool-size 0): open + 1+1", spread(pcold["totalMs"]),
            spread(g(ks, "totalMs")), ratio(kmed, pcold["totalMs"]["median"]))
    if g(s, "serverStart"):
        row("  (server process start, once per editor)", spread(g(s, "serverStart", "spawnToInitializeMs")), "-")

    # 2. round trip
    rt, krt = g(s, "roundTrip"), g(k, "roundTrip")
    if rt or krt:
        section(f"2. Cell round trip, 1+1 on a warm session ({g(rt, 'cells') or g(krt, 'cells')} cells), us",
                ("roundTrip", "roundTrip"), ("roundTripOneCpu", "roundTripOneCpu"), ("processRoundTrip", None))
        sm = g(rt, "roundTripUs", "median")
        row("  median (p10-p90)", spread(g(rt, "roundTripUs")), spread(g(krt, "roundTripUs")),
            ratio(g(krt, "roundTripUs", "median"), sm), f"<50 us: {check(sm is not None and sm < 50)}")
        row("  p99", fmt(g(rt, "roundTripUs", "p99")), fmt(g(krt, "roundTripUs", "p99")),
            ratio(g(krt, "roundTripUs", "p99"), g(rt, "roundTripUs", "p99")))
        row("  kernel: until iopub idle (value at the client)", "(in the reply)", spread(g(krt, "untilIdleUs")),
            ratio(g(krt, "untilIdleUs", "median"), sm))
        row("  kernel: with jupyter_client BlockingKernelClient", "-", spread(g(krt, "blockingKernelClientRoundTripUs")))
        row("  time in the cell itself (server durationMs)", spread(g(rt, "serverDurationUs")), "-")
        row("  client CPU per cell", fmt(g(rt, "clientCpuUsPerCell")), fmt(g(krt, "clientCpuUsPerCell")))
        row("  server / kernel CPU per cell", fmt(g(rt, "serverCpuUsPerCell")), fmt(g(krt, "kernelCpuUsPerCell")))
        threads = g(rt, "serverThreadCpuUsPerCell") or []
        if threads:
            row("    by thread (main loop first)",
                " + ".join(fmt(t["usPer"]) for t in sorted(threads, key=lambda t: not t["role"].startswith("main"))[:4]),
                "-")
        row("  session/list round trip (transport + dispatch only)", spread(g(rt, "sessionListRoundTripUs")), "-")
        pin, kpin = g(s, "roundTripOneCpu"), g(k, "roundTripOneCpu")
        if pin or kpin:
            row("  all on one CPU (taskset 0), median (p10-p90)", spread(g(pin, "roundTripUs")),
                spread(g(kpin, "roundTripUs")), ratio(g(kpin, "roundTripUs", "median"), g(pin, "roundTripUs", "median")))
        row("  pipelined (all sent at once), cells/s", fmt(g(rt, "pipelinedCellsPerS")), "-")
    prt = g(s, "processRoundTrip")
    if prt:
        pm = g(prt, "roundTripUs", "median")
        row("  process session (through the server to its worker)", spread(g(prt, "roundTripUs")),
            spread(g(krt, "roundTripUs")), ratio(g(krt, "roundTripUs", "median"), pm))
        row("    vs the interpreter session's median", ratio(pm, g(rt, "roundTripUs", "median")) + " the time", "-")
        row("    time in the cell itself (worker durationMs)", spread(g(prt, "serverDurationUs")), "-")
        row("    CPU per cell: client / server / worker", f"{fmt(g(prt, 'clientCpuUsPerCell'))} / "
            f"{fmt(g(prt, 'serverCpuUsPerCell'))} / {fmt(g(prt, 'workerCpuUsPerCell'))}", "-")

    # 3. reset
    rs, kr = g(s, "reset"), g(k, "restart")
    if rs or kr:
        section(f"3. Fresh namespace ({g(rs, 'names') or g(kr, 'names')} names): session/reset vs restart_kernel",
                ("reset", "restart"), ("resetOneCpu", None))
        sm = g(rs, "resetUs", "median")
        row("  reset / restart alone", spread(g(rs, "resetUs"), " us"), spread(g(kr, "restartKernelMs"), " ms"),
            ratio(g(kr, "restartKernelMs", "median", default=0) * 1e3 or None, sm),
            f"<200 us: {check(sm is not None and sm < 200)}")
        row("  until the next cell is answered", spread(g(rs, "resetThenCellUs"), " us"),
            spread(g(kr, "restartUntilReplyMs"), " ms"),
            ratio((g(kr, "restartUntilReplyMs", "median") or 0) * 1e3 or None, g(rs, "resetThenCellUs", "median")))
        row("  reset inside the server (durationMs)", spread(g(rs, "serverDurationUs"), " us"), "-")
        pin = g(s, "resetOneCpu")
        if pin:
            row("  all on one CPU (taskset 0): reset / until the next cell", f"{spread(g(pin, 'resetUs'), ' us')} / "
                f"{spread(g(pin, 'resetThenCellUs'), ' us')}", "-")

    # 4. memory
    mem, km = g(s, "memory"), g(k, "memory")
    if mem or km:
        section(f"4. Memory per idle session after `{MEM_CELL}`, MB "
                f"(subcell: {g(mem, 'sessions')} sessions in one process; kernels: {g(km, 'kernels')} processes)",
                ("memory", "memory"), ("processMemory", None))
        sr = g(mem, "rssMbPerSession")
        row("  RSS added per session / per kernel", fmt(sr), spread(g(km, "rssMbPerKernel")),
            ratio(g(km, "rssMbPerKernel", "median"), sr), f"<5 MB: {check(sr is not None and sr < 5)}")
        row("  PSS added per session / per kernel", fmt(g(mem, "pssMbPerSession")), spread(g(km, "pssMbPerKernel")),
            ratio(g(km, "pssMbPerKernel", "median"), g(mem, "pssMbPerSession")))
        row("  private (dirty+clean) per session / per kernel", fmt(g(mem, "privateMbPerSession")),
            spread(g(km, "privateMbPerKernel")))
        if mem and km:
            row(f"  total for {g(km, 'kernels')} (RSS sum)", fmt(sr * km["kernels"]) + " (x per-session)",
                fmt(g(km, "rssMbSum")))
            row("  server process RSS before / after", f"{fmt(mem['before']['rssKb'] / 1024)} / "
                f"{fmt(mem['after']['rssKb'] / 1024)}", "-")
    pmem = g(s, "processMemory")
    if pmem:
        pr = pmem["rssMbPerSession"]
        row(f"  process sessions ({pmem['sessions']}; server + workers): RSS added per session", fmt(pr),
            spread(g(km, "rssMbPerKernel")), ratio(g(km, "rssMbPerKernel", "median"), pr))
        row("    PSS added per process session / per kernel", fmt(pmem["pssMbPerSession"]),
            spread(g(km, "pssMbPerKernel")), ratio(g(km, "pssMbPerKernel", "median"), pmem["pssMbPerSession"]))
        row("    private (dirty+clean) per process session / per kernel", fmt(pmem["privateMbPerSession"]),
            spread(g(km, "privateMbPerKernel")))

    # 5. parallel
    par, kpar, base = g(s, "parallel"), g(k, "parallel"), g(r, "machine", "processScaling")
    if par or kpar:
        section(f"5. Parallel: N sessions / kernels each running the CPU cell ({g(par, 'cellsPerSession')} cells each),"
                " cells/s (scaling vs N=1)", ("parallel", "parallel"))
        for n in sorted({int(x) for x in list(g(par, "byN", default={})) + list(g(kpar, "byN", default={}))}):
            sp, kp = g(par, "byN", str(n)), g(kpar, "byN", str(n))
            tgt = "-"
            if n == 2 and sp:
                tgt = f">=1.95x: {check(sp['scaling'] >= 1.95)}"
            bp = g(base, "byN", str(n))
            disturbed = " (disturbed)" if (g(base, "othersCpuShare") or 0) >= 0.05 else ""
            row(f"  N={n}" + (f" (plain processes: {bp['scaling']:.2f}x{disturbed})" if bp else ""),
                f"{spread(g(sp, 'cellsPerS'))} ({g(sp, 'scaling', default=0):.2f}x)" if sp else "-",
                f"{spread(g(kp, 'cellsPerS'))} ({g(kp, 'scaling', default=0):.2f}x)" if kp else "-",
                ratio(g(kp, "cellsPerS", "median"), g(sp, "cellsPerS", "median")), tgt)
        if par:
            row("  one cell alone (N=1), ms", spread(g(par, "byN", "1", "cellMs")), "-")
        ps, pk = g(r, "machine", "pythons", "subcell"), g(r, "machine", "pythons", "kernel")
        if ps or pk:
            row("  the cell in the plain interpreter (no server), ms", fmt(g(ps, "cpuCellMs")), fmt(g(pk, "cpuCellMs")),
                ratio(g(pk, "cpuCellMs"), g(ps, "cpuCellMs")))

    def streaming_rows(key, title):
        """The rows both streaming cases share; returns (subcell, kernel, MB)."""
        st, kst = g(s, key), g(k, key)
        if not (st or kst):
            return st, kst, 0
        mb = (g(st, "textBytes") or g(kst, "textBytes") or 0) / 1e6
        section(title(g(st, "lines") or g(kst, "lines"), mb), (key, key))
        row("  time until all output is at the client, ms", spread(g(st, "timeMs")), spread(g(kst, "timeMs")),
            ratio(g(kst, "timeMs", "median"), g(st, "timeMs", "median")))
        sm = g(st, "mbPerS", "median")
        row("  MB/s", spread(g(st, "mbPerS")), spread(g(kst, "mbPerS")),
            ratio(sm, g(kst, "mbPerS", "median")) + " (subcell/kernel)", f">=50 MB/s: {check(sm is not None and sm >= 50)}")
        row("  output messages", fmt(g(st, "messages", "median"), digits=0),
            fmt(g(kst, "messages", "median"), digits=0))
        return st, kst, mb

    # 6. streaming short lines: print() itself is the limit
    st, kst, mb = streaming_rows("streaming", lambda n, mb: f"6. Streaming: a cell printing {n:,} lines ({mb:.2f} MB)")
    if st or kst:
        row("  the cell's own run time (durationMs), ms", spread(g(st, "cellDurationMs")), "-")
        row("  the same prints into a no-op sink (print() alone), ms", spread(g(st, "printToNullSinkMs")),
            spread(g(kst, "printToNullSinkMs")))
        ps, pk = g(r, "machine", "pythons", "subcell"), g(r, "machine", "pythons", "kernel")
        if ps or pk:
            row("    the same in the plain interpreter (no server), ms", fmt(g(ps, "printToNullSinkMs")),
                fmt(g(pk, "printToNullSinkMs")))
            if g(ps, "printToNullSinkMs"):
                row("    => this cell's MB/s ceiling in the plain interpreter", fmt(mb / ps["printToNullSinkMs"] * 1e3),
                    fmt(mb / pk["printToNullSinkMs"] * 1e3) if g(pk, "printToNullSinkMs") else "-")
        row("  client CPU, ms", spread(g(st, "clientCpuMs")), spread(g(kst, "clientCpuMs")))

    # 6b. streaming long lines: the output path, not print(), is the limit
    sl, ksl, _ = streaming_rows(
        "streamingLong", lambda n, mb: f"6b. Streaming: a cell printing {n:,} lines of 100 bytes ({mb:.2f} MB)")
    if sl or ksl:
        row("  the same prints into a no-op sink (print() alone), ms", spread(g(sl, "printToNullSinkMs")),
            spread(g(ksl, "printToNullSinkMs")))

    # 7. many sessions
    many, kmany = g(s, "manySessions"), g(k, "manySessions")
    if many or kmany:
        ns, nk = g(many, "sessions"), g(kmany, "kernels")
        section(f"7. Many: {ns} subcell sessions vs {nk} kernels: open all, run a cell in each, close all",
                ("manySessions", "manySessions"))
        kfail = g(kmany, "failures")
        if g(kmany, "bootFailuresReplaced"):
            kfail = f"{kfail} (+{kmany['bootFailuresReplaced']} died at boot, port in use; replaced)"
        row("  failures", f"{g(many, 'failures')}", f"{kfail}", "-",
            f"{ns} at once without failure: {check(many['failures'] == 0 and many['listedWhileOpen'] == ns)}"
            if many else "-")
        row("  open / start, ms", fmt(g(many, "openMs")), fmt(g(kmany, "startMs")))
        row("  run one cell in each, ms", fmt(g(many, "runMs")), fmt(g(kmany, "runMs")))
        row("  close / shut down, ms", fmt(g(many, "closeMs")), fmt(g(kmany, "shutdownMs")))
        row("  total, ms", fmt(g(many, "totalMs")), fmt(g(kmany, "totalMs")))
        if many and kmany:
            row("  total per session / per kernel, ms", fmt(many["totalMs"] / ns), fmt(kmany["totalMs"] / nk),
                ratio(kmany["totalMs"] / nk, many["totalMs"] / ns))
        row("  peak RSS (server / sum of kernels), MB", fmt(g(many, "peakRssMb")), fmt(g(kmany, "peakRssMb")))
        if many and kmany:
            sper = (many["peakRssMb"] - many["base"]["rssKb"] / 1024) / ns
            row("  peak RSS per session / per kernel, MB", fmt(sper) + " (above the idle server)",
                fmt(kmany["peakRssMb"] / nk), ratio(kmany["peakRssMb"] / nk, sper))
        if many:
            row("  server threads with all open", f"{many['allOpen']['threads']}", "-")
            kept = (many["afterClose"]["rssKb"] - many["base"]["rssKb"]) / 1024
            row("  RSS still held after closing all, MB", f"{fmt(kept)} ({fmt(kept / ns)} per closed session)",
                "0 (processes exit)")

    # 8. churn: memory over session open/close cycles
    def churn_rows(c, title, goal):
        """One churn curve: its growth per cycle, a few of its points, its peak."""
        rows.append((f"  {title}: {c['cycles']:,} cycles",))
        pts = c["points"]
        first, later = [p["rssMb"] for p in pts[:len(pts) // 2]], [p["rssMb"] for p in pts[len(pts) // 2:]]
        # Bounded: the second half of the run climbs no higher than the
        # first (a leak keeps climbing; a recycled worker falls back).
        bounded = max(later) <= 1.1 * max(first) + 10
        row("    growth per cycle (least squares; end - start)",
            f"{fmt(c['growthMbPerCycle'], digits=3)}; {fmt(c['endMinusStartMbPerCycle'], digits=3)}",
            "0 (processes exit)", "-", f"bounded: {check(bounded)}" if goal else "-")
        shown = pts[::max(1, (len(pts) - 1) // 7)]
        if shown[-1] is not pts[-1]:
            shown.append(pts[-1])
        row("    RSS at cycle " + " / ".join(f"{p['cycle']:,}" for p in shown),
            " / ".join(fmt(p["rssMb"]) for p in shown), "-")
        hosts = "the server process" if c["sessionsInServerProcess"] else f"{c['sessionHosts']} worker processes"
        row("    RSS over the second half, min-max", f"{fmt(min(later))}-{fmt(max(later))}", "-")
        row("    peak RSS; sessions ran in", f"{fmt(c['peakMb'])}; {hosts}", "-")
        row("    time per cycle, ms", fmt(c["msPerCycle"]), "-")

    churn = g(s, "churn")
    if churn:
        section("8. Churn: session/open -> 1+1 -> session/close, repeated; total RSS of the server and its workers, MB",
                ("churn", None))
        if g(churn, "inServer"):
            churn_rows(churn["inServer"], "interpreter sessions in the server process (the default)", goal=False)
        if g(churn, "inWorkers"):
            churn_rows(churn["inWorkers"], "in recycled workers (--interpreter-host workers --recycle-after-sessions "
                       f"{churn['recycleAfterSessions']})", goal=True)

    bench_channels.rows(g(s, "channels"), g(r, "multiprocessing", "channels"), row, section)
    # failed sides too: the section shows why a side was not measured
    bench_science.rows(g(r, "subcell", "science"), g(r, "ipykernel", "science"), row, section)
    return rows


def render(rows):
    header = ("figure", "subcell", "ipykernel", "kernel/subcell", "target (subcell)")
    data = [r for r in rows if len(r) == 5]
    widths = [max(len(str(x[i])) for x in data + [header]) for i in range(5)]
    widths[0] = max(widths[0], 40)
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), line]
    for r in rows:
        if len(r) == 1:
            out.append(r[0])
        else:
            out.append("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    return "\n".join(out)


def print_header(r):
    m, s, k = r["machine"], r.get("subcell", {}), r.get("kernelVersions", {})
    py = g(s, "initialize", "python", default={})
    print(f"subcell benchmark ({r['mode']} mode), {time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(f"machine: {m['nproc']} CPUs, {m['cpuModel']}, {m['memTotalGb']} GB RAM, {m['os']}, Linux {m['kernel']}")
    if s:
        print(f"subcell {g(s, 'initialize', 'serverInfo', 'version')} (git {r.get('subcellGit')}, "
              f"{r.get('subcellBuildType')} build), CPython {py.get('version')} embedded, ownGil={py.get('ownGil')}")
    for who, pi in (g(r, "machine", "pythons") or {}).items():
        if pi and "version" in pi:
            print(f"{who} CPython: {pi['executable']} {pi['version']}: the CPU cell takes {pi['cpuCellMs']:.0f} ms "
                  f"in the plain interpreter")
    if k:
        print(f"ipykernel {k.get('ipykernel')}, jupyter_client {k.get('jupyter_client')}, pyzmq {k.get('pyzmq')} "
              f"(libzmq {k.get('libzmq')}), kernel CPython {k.get('kernelPython')}")
    print("values: median (p10-p90); ratios: ipykernel / subcell (>1 means subcell is faster or smaller)")
    print()


# ---- main ------------------------------------------------------------------------------

class Config:
    def __init__(self, quick, only):
        self.quick = quick
        self.only = only
        cores = os.cpu_count() or 1
        self.parallel_n = sorted({1, 2, cores})
        self.reset_names = 300
        if quick:
            self.start_reps, self.rt_cells, self.rt_warmup, self.pinned_cells = 2, 200, 20, 100
            self.restart_reps, self.mem_kernels = 2, 2
            self.parallel_cells, self.parallel_reps = 2, 1
            self.stream_lines, self.stream_reps = 20000, 1
            self.many_kernels = 3
            self.many_kernels_why = "quick mode"
        else:
            self.start_reps, self.rt_cells, self.rt_warmup, self.pinned_cells = 10, 5000, 300, 2000
            self.restart_reps, self.mem_kernels = 10, 10
            self.parallel_cells, self.parallel_reps = 8, 3
            self.stream_lines, self.stream_reps = 200000, 5
            self.many_kernels = 50
            self.many_kernels_why = ("50, the largest the brief suggests: every kernel is a whole process (~70 MB RSS), "
                                     "and booting them all takes seconds per core")
        self.kernel_stderr = "/dev/null"

    def wants(self, section):
        return not self.only or section in self.only


def run_subcell(args, cfg, failed, commands):
    cmd = [args.client, "--server", args.subcell, "--server-stderr", args.server_stderr]
    if cfg.quick:
        cmd.append("--quick")
    if cfg.only:
        cmd += ["--only", ",".join(cfg.only)]
    log("subcell: " + " ".join(cmd))
    commands["subcell"] = " ".join(cmd)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    try:
        data = json.loads(p.stdout)
    except json.JSONDecodeError:
        data = {"failure": f"subcell_bench printed no JSON (exit status {p.returncode})"}
    if p.returncode != 0 or "failure" in data:
        log(f"subcell_bench failed: {data.get('failure')}")
        failed.append("subcell: " + str(data.get("failure")))
    return data


def run_kernels(cfg, failed):
    kb = KernelBench(cfg)
    out = {}
    try:
        steps = [("session_start", "sessionStart", kb.session_start), ("round_trip", "roundTrip", kb.round_trip),
                 ("round_trip", "roundTripOneCpu", kb.round_trip_one_cpu), ("reset", "restart", kb.restart),
                 ("memory", "memory", kb.memory), ("parallel", "parallel", kb.parallel),
                 ("streaming", "streaming", kb.streaming), ("streaming", "streamingLong", kb.streaming_long),
                 ("many_sessions", "manySessions", kb.many)]
        for section, key, fn in steps:
            if key == "roundTripOneCpu" and (os.cpu_count() or 1) < 2:
                continue
            if cfg.wants(section):
                t0 = time.monotonic()
                try:
                    out[key] = fn()
                except Exception as e:  # noqa: BLE001 - reported, the other sections still run
                    log(f"kernel {key} failed: {type(e).__name__}: {e}")
                    out[key] = {"failure": f"{type(e).__name__}: {e}"}
                    failed.append(key)
                out[key]["window"] = [t0, time.monotonic()]
    finally:
        kb.close()
    return out


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subcell", required=True, help="the subcell binary")
    ap.add_argument("--client", required=True, help="the subcell_bench binary")
    ap.add_argument("--quick", action="store_true", help="few repetitions, small N (what CI runs)")
    ap.add_argument("--out", default="bench-results.json", help="where to write the JSON results")
    ap.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--no-kernel", action="store_true", help="measure subcell only")
    ap.add_argument("--no-subcell", action="store_true", help="measure the kernels only")
    ap.add_argument("--server-stderr", default="/dev/null", help="where the subcell server's log goes")
    ap.add_argument("--kernel-stderr", default="/dev/null", help="where the kernels' output and logs go")
    args = ap.parse_args()
    only = [x for x in args.only.split(",") if x]
    for x in only:
        if x not in SECTIONS:
            ap.error(f"unknown section {x}")
    cfg = Config(args.quick, only)
    cfg.kernel_stderr = args.kernel_stderr
    cfg.server_stderr = args.server_stderr
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel's debugger warning

    results = {"mode": "quick" if cfg.quick else "full", "machine": machine_info(),
               "subcellGit": git_describe(here), "subcellBuildType": build_type(args.subcell), "commands": {"driver": " ".join([sys.executable] + sys.argv)}}
    failed = []
    load = LoadMeter()
    monitor = CpuMonitor()
    t0 = time.perf_counter()
    if not args.no_subcell:
        results["subcell"] = run_subcell(args, cfg, failed, results["commands"])
    if not args.no_kernel:
        results["kernelVersions"] = kernel_versions()
        results["ipykernel"] = run_kernels(cfg, failed)
        if cfg.wants("parallel"):
            t_ps = time.monotonic()
            results["machine"]["processScaling"] = process_scaling(cfg)
            results["machine"]["processScaling"]["window"] = [t_ps, time.monotonic()]
    if cfg.wants("science"):
        sc, kc = bench_science.measure(cfg, None if args.no_subcell else args.subcell,
                                       None if args.no_kernel else KernelBench, failed)
        if sc is not None:
            results["subcell"]["science"] = sc
        if kc is not None:
            results["ipykernel"]["science"] = kc
    if cfg.wants("channels"):
        log("multiprocessing between plain processes (the channels section's comparison)")
        t_mp = time.monotonic()
        results["multiprocessing"] = {"channels": bench_channels.measure(cfg)}
        results["multiprocessing"]["channels"]["window"] = [t_mp, time.monotonic()]
    log("plain interpreters, outside any server")
    results["machine"]["pythons"] = {"subcell": probe_python(subcell_python(args.subcell), cfg.stream_lines),
                                     "kernel": probe_python("/usr/bin/python3", cfg.stream_lines)}
    results["elapsedS"] = round(time.perf_counter() - t0, 1)
    results["machine"]["load"] = load.finish()
    monitor.stop()
    for side in ("subcell", "ipykernel", "machine"):
        for key, section in (results.get(side) or {}).items():
            if isinstance(section, dict) and "window" in section:
                section["othersCpuShare"] = monitor.others_share(*section["window"])

    rows = build_rows(results)
    results["table"] = [list(r) for r in rows]
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print_header(results)
    print(render(rows))
    print()
    km = g(results, "ipykernel", "manySessions")
    if km and "peakRssMb" in km and results["mode"] == "full":
        per = km["peakRssMb"] / km["kernels"]
        ram = results["machine"]["memTotalGb"]
        print(f"kernels in 7: {km['why']}. Measured: {per:.0f} MB per kernel at the peak, {km['startMs'] / 1e3:.1f} s "
              f"to boot {km['kernels']}. An estimate, not a measurement: {g(results, 'subcell', 'manySessions', 'sessions') or 500} "
              f"kernels would need ~{per * (g(results, 'subcell', 'manySessions', 'sessions') or 500) / 1024:.0f} GB "
              f"(this machine has {ram} GB); nothing in the table is extrapolated.")
    print("CPython versions differ (subcell embeds its own; the kernel runs Debian's), so compare the CPU-bound\n"
          "figures by their scaling, not by absolute cells/s.")
    ld = results["machine"]["load"]
    print(f"machine load: load average {ld['loadavgAtStart'][0]} at start; other processes used {ld['otherCpuS']} CPU-s "
          f"({ld['otherShareOfMachine'] * 100:.0f}% of the machine) while the benchmark ran"
          + ("  ** the figures are disturbed by other work **" if ld["otherShareOfMachine"] > 0.05 else ""))
    print(f"elapsed {results['elapsedS']} s; results written to {args.out}")
    if failed:
        print(f"FAILED: {', '.join(failed)} (see the log above and {args.out})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
