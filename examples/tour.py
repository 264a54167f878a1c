# A tour of subcell: run it with `subcell run --allow-errors examples/tour.py`,
# or open it in VS Code / Neovim with the subcell extension and run the cells.

# %% Streaming output: each line appears while the cell is still running
import time

for step in range(1, 4):
    print(f"step {step} of 3")
    time.sleep(0.2)

# %% A value: like a notebook, the last expression is the cell's result
squares = {n: n * n for n in range(6)}
squares

# %% Rich values: objects with _repr_html_ / _repr_markdown_ carry extra MIME types
class Money:
    def __init__(self, cents):
        self.cents = cents

    def __repr__(self):
        return f"Money({self.cents / 100:.2f})"

    def _repr_html_(self):
        return f"<b>{self.cents / 100:.2f} €</b>"


display(Money(1999))
Money(250)

# %% An error: the traceback points at the line of this file that raised
def average(values):
    return sum(values) / len(values)


print("about to fail")
average([])

# %% [reset] A fresh namespace: variables are gone, imports stay warm
try:
    squares
except NameError as e:
    print("after the reset:", e)
"time" in __import__("sys").modules
