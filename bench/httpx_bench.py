"""Contender: Python httpx with one Client (the transport of the official
Python SDK), decoding with the json module.

Usage: python3 httpx_bench.py URL N SECONDS [CA_FILE]
Prints "ok REQUESTS SECONDS" (wall time of the request loop).
"""
import json
import sys
import time

import httpx


def main():
    url, n, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    verify = sys.argv[4] if len(sys.argv) > 4 else True
    headers = {"Authorization": "Bearer api_bench_key", "Accept": "application/json"}
    with httpx.Client(verify=verify, headers=headers) as client:
        start, done = time.monotonic(), 0
        while done < n and time.monotonic() - start < budget:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"request {done + 1} failed: HTTP {response.status_code}")
            if json.loads(response.content)["id"] != "123":
                raise SystemExit(f"request {done + 1}: unexpected body")
            done += 1
        print(f"ok {done} {time.monotonic() - start:.6f}")


main()
