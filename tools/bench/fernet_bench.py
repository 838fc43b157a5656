"""Fernet throughput of Python's `cryptography` package, for the bench.

Prints one JSON object: {"<size>": {"encrypt": ops_per_sec, "decrypt": ops_per_sec}}.
One round per run; run.mjs starts it once per round, interleaved with the
Node measurements, and takes the median.
"""
import json
import sys
import time

from cryptography.fernet import Fernet


def rate(operation, seconds):
    """Calls `operation` for about `seconds`; returns calls per second."""
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(64):
            operation()
        count += 64
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
    sizes = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [100, 4096]
    fernet = Fernet(Fernet.generate_key())
    result = {}
    for size in sizes:
        message = b"m" * size
        token = fernet.encrypt(message)
        result[str(size)] = {
            "encrypt": rate(lambda: fernet.encrypt(message), seconds),
            "decrypt": rate(lambda: fernet.decrypt(token), seconds),
        }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
