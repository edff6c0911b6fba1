#!/usr/bin/env python3
"""Helpers of the `live --metrics` tests, for what Python's standard library and
prometheus_client do in a few lines.

    metrics_traffic.py scrape URL        GET URL, parse the exposition with prometheus_client's
                                         parser, print {"content_type": ..., "samples": [[name,
                                         {labels}, value], ...]} as JSON (exit 77: no prometheus_client)
    metrics_traffic.py dns PORT          a DNS server on 127.0.0.1:PORT/udp answering one query with
                                         NXDOMAIN after 30 ms, and the query it answers
    metrics_traffic.py http PORT         an HTTP/1.1 server on 127.0.0.1:PORT answering GET / with
                                         200 and anything else with 404, and one request of each
"""
import http.server
import json
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

# Straight to loopback, whatever proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def scrape(url):
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        print("prometheus_client is not installed (scripts/bootstrap installs it)")
        return 77
    with OPENER.open(url, timeout=10) as response:
        content_type = response.headers.get("Content-Type")
        text = response.read().decode()
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append([sample.name, sample.labels, sample.value])
    print(json.dumps({"content_type": content_type, "samples": samples}))
    return 0


def dns(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", port))
    server.settimeout(5)

    def answer():
        query, client = server.recvfrom(512)
        time.sleep(0.03)
        # The query's ID and question, QR=1 RD RA, RCODE 3 (NXDOMAIN), one question, no answers.
        header = struct.pack(">HHHHHH", struct.unpack(">H", query[:2])[0], 0x8183, 1, 0, 0, 0)
        server.sendto(header + query[12:], client)

    thread = threading.Thread(target=answer)
    thread.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(5)
    name = b"".join(bytes([len(label)]) + label for label in [b"missing", b"example"]) + b"\0"
    client.sendto(struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1),
                  ("127.0.0.1", port))
    reply, _ = client.recvfrom(512)
    thread.join()
    print(json.dumps({"rcode": reply[3] & 0xF}))
    return 0


def http_exchange(port):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b"ok\n" if self.path == "/" else b"no\n"
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    statuses = []
    for path in ("/", "/missing"):
        try:
            with OPENER.open(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    server.shutdown()
    server.server_close()
    print(json.dumps({"statuses": statuses}))
    return 0


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "scrape":
        sys.exit(scrape(argument))
    if command == "dns":
        sys.exit(dns(int(argument)))
    if command == "http":
        sys.exit(http_exchange(int(argument)))
    sys.exit(f"unknown command {command}")
