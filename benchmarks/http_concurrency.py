"""HTTP concurrency: HttpAgent runs against a local server that takes 0.5 s per answer, at several caps.

Target (issue 16, low item): the async client is not capped by a thread pool, so 24 requests at
max_concurrency=12 take about two answer times, not four (the old urllib-in-threads client ran 6 at once on
2 CPUs). The baseline is the same batch at max_concurrency=1, measured in the same run; the ideal wall time
at cap c is 24 / c x 0.5 s. Figures are noisy on a loaded machine.
Run: python benchmarks/http_concurrency.py [--requests 24]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import russo_nb as russo
from russo_nb.adapters import HttpAgent

DELAY_S = 0.5
ANSWER = json.dumps({"tool_calls": [{"name": "book_flight", "arguments": {"to_city": "LA"}}]}).encode()


class Slow(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(DELAY_S)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    agent = HttpAgent(f"http://127.0.0.1:{server.server_address[1]}/agent", timeout=30)
    russo.run_concurrent_sync("warm up", None, agent, expect=[], runs=1)
    times = {}
    for cap in (1, 6, 12, args.requests):
        started = time.perf_counter()
        result = russo.run_concurrent_sync("a", None, agent, expect=[], runs=args.requests, max_concurrency=cap)
        times[cap] = time.perf_counter() - started
        ideal = -(-args.requests // cap) * DELAY_S
        assert result.finished_count == args.requests and not result.status_counts.get("error")
        print(f"max_concurrency={cap:>3}: {times[cap]:6.2f} s (ideal {ideal:5.2f} s, {times[1] / times[cap]:4.1f}x)")
    ideal_12 = -(-args.requests // 12) * DELAY_S
    verdict = "meets" if times[12] <= 1.5 * ideal_12 else "misses"
    print(f"target: cap 12 within 1.5x of its ideal {ideal_12:.2f} s: {verdict} ({times[12]:.2f} s)")
    server.shutdown()


if __name__ == "__main__":
    main()
