#!/usr/bin/python3
"""Between `subcell run` and `subcell serve`: passes every byte through and
checks every message, both ways, against protocol/subcell.schema.json.

subcell run starts it instead of itself when SUBCELL_RUN_SERVER names it;
it starts $SUBCELL_BINARY with the same arguments. Each message that does
not match the schema is appended to $SUBCELL_SCHEMA_LOG (one JSON line),
so the test can say which and why.
"""
import json
import os
import re
import subprocess
import sys
import threading

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "..", "protocol", "subcell.schema.json")) as f:
    SCHEMA = json.load(f)
LOG = os.environ["SUBCELL_SCHEMA_LOG"]
lock = threading.Lock()
methods = {}  # (sender, id) -> method: what a response answers
validators = {}


def validator(name):
    if name not in validators:
        validators[name] = jsonschema.Draft7Validator({"$ref": "#/definitions/" + name,
                                                       "definitions": SCHEMA["definitions"]})
    return validators[name]


def check(message, sender):
    problems = []

    def against(name, value):
        if name in SCHEMA["definitions"]:
            problems.extend(f"{name}: {e.message}" for e in validator(name).iter_errors(value))
        elif name.endswith(".params") and name[:-len("params")] + "result" not in SCHEMA["definitions"]:
            problems.append(f"{name}: no such method in the schema")  # `shutdown` has a result, no params

    if "method" in message:
        against("message.request" if "id" in message else "message.notification", message)
        method = message["method"].replace("/", ".")
        against(method + ".params", message.get("params", {}))
        if "id" in message:
            with lock:
                methods[(sender, json.dumps(message["id"]))] = method
    else:
        against("message.response", message)
        other = "server" if sender == "client" else "client"
        with lock:
            method = methods.pop((other, json.dumps(message.get("id"))), None)
        if method and "result" in message:
            against(method + ".result", message["result"])
    if problems:
        with lock, open(LOG, "a") as log:
            log.write(json.dumps({"from": sender, "message": message, "problems": problems}) + "\n")


def pump(source, sink, sender, close):
    buffer = b""
    while True:
        chunk = os.read(source, 65536)
        if not chunk:
            break
        os.write(sink, chunk)
        buffer += chunk
        while True:
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            match = re.search(rb"Content-Length: *(\d+)", head, re.I) if sep else None
            if not match or len(rest) < int(match.group(1)):
                break
            length = int(match.group(1))
            check(json.loads(rest[:length]), sender)
            buffer = rest[length:]
    close()


server = subprocess.Popen([os.environ["SUBCELL_BINARY"], *sys.argv[1:]], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
to_server = threading.Thread(target=pump, args=(0, server.stdin.fileno(), "client", server.stdin.close))
to_server.start()
pump(server.stdout.fileno(), 1, "server", lambda: os.close(1))
to_server.join()
sys.exit(server.wait())
