# %% [markdown]
# # Parallel work in child interpreters
#
# A CPU-bound job (counting primes) split over child interpreters: each is an
# own-GIL interpreter of this session (`subcell.interpreters`), so they run at
# the same time. Work goes out and results come back through channels
# (`subcell.create_channel()`), PEP 554's model. Run it with
#
#     subcell run examples/parallel.py

# %%
import os
import threading
import time

import subcell
from subcell import interpreters

N = 400_000                   # count the primes below N
WORKERS = os.cpu_count() or 2

COUNT_PRIMES = """
def count_primes(lo, hi):
    count = 0
    for n in range(max(lo, 2), hi):
        if n % 2 == 0:
            count += n == 2
            continue
        d = 3
        while d * d <= n:
            if n % d == 0:
                break
            d += 2
        else:
            count += 1
    return count
"""

# %%
# One interpreter: this session does it all.
exec(COUNT_PRIMES)
t0 = time.perf_counter()
expected = count_primes(0, N)
one = time.perf_counter() - t0
print(f"one interpreter: {expected} primes below {N:,} in {one:.2f} s")

# %%
# os.cpu_count() children, each with count_primes (its prelude). They take
# ranges from one channel and send their counts back on another.
children = [interpreters.create(prelude=COUNT_PRIMES) for _ in range(WORKERS)]
print("children:", [c.id for c in children])

WORKER = """
while (job := tasks.recv()) is not None:
    lo, hi = job
    results.send((lo, count_primes(lo, hi)))
"""
tasks_r, tasks_s = subcell.create_channel()
results_r, results_s = subcell.create_channel()
step = N // (16 * WORKERS)
chunks = [(lo, min(lo + step, N)) for lo in range(0, N, step)]

t0 = time.perf_counter()
runs = [c.run_async(WORKER, channels={"tasks": tasks_r, "results": results_s}) for c in children]


def feed():
    # send() waits until a child takes the range: the children pace it.
    for chunk in chunks:
        tasks_s.send(chunk)
    for _ in children:
        tasks_s.send(None)  # stop


feeder = threading.Thread(target=feed)
feeder.start()
total = sum(results_r.recv()[1] for _ in chunks)
feeder.join()
errors = [err for _, err in (r.result() for r in runs) if err is not None]
many = time.perf_counter() - t0
print(f"{WORKERS} child interpreters: {total} primes in {many:.2f} s, "
      f"{one / many:.2f}x the speed of one interpreter")
assert total == expected and not errors

# %%
# An error in a child comes back as (None, err): the exception, formatted
# inside the child, with its traceback.
result, err = children[0].run("count_primes(0, 'ten')")
print("result:", result)
print("err:", repr(err))
print(err.traceback)

# %%
for child in children:
    child.close()
print("left:", interpreters.list_all())
