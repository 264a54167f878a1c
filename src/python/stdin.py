# ---------------------------------------------------------------- input
# A session's standard input (part of subcell's runner; see runner.py):
# input(), getpass.getpass() and sys.stdin ask the client for a line (the
# server sends it a cell/input request) and wait for the answer,
# interruptibly. breakpoint() and pdb read their commands this way too. A
# client that cannot answer makes them raise EOFError saying why; one that
# dismisses the prompt interrupts the cell.


class _Stdin(_io.TextIOBase):
    """sys.stdin of a session: each line is asked of the client."""
    name = "<stdin>"
    encoding = "utf-8"

    def readable(self):
        return True

    def isatty(self):
        return False

    def readline(self, size=-1):
        line = _subcell.request_input("", False) + "\n"
        return line if size is None or size < 0 else line[:size]

    def read(self, size=-1):
        return self.readline(size)

    def readlines(self, hint=-1):
        return [self.readline()]

    def close(self):
        pass


def _input(prompt=""):
    """Reads a line from the user: the client shows `prompt` and asks."""
    prompt = _str(prompt)
    text = _subcell.request_input(prompt, False)
    sys.stdout.write(prompt + text + "\n")  # the cell's output keeps the exchange
    return text


def _getpass(prompt="Password: ", stream=None):
    """Reads a password from the user: the client masks what is typed."""
    text = _subcell.request_input(_str(prompt), True)
    sys.stdout.write(_str(prompt) + "\n")
    return text


def install_input():
    import builtins
    builtins.input = _input
    patch_on_import("getpass", lambda getpass: setattr(getpass, "getpass", _getpass))
