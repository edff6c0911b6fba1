#!/usr/bin/env python3
"""Loads an HTML report of `netsift analyze --html` in headless Chromium and checks it.

    check_report.py REPORT.html REPORT.json REFERENCE.png [--write-reference]

- Chromium renders the page with every host name unresolvable, so any fetch the page tried would
  fail and be logged; no console message of level warning or error may appear.
- The DOM Chromium built: every <svg class="chart"> holds at least one mark path with non-empty
  path data; every element with `data-json="a.b.0.c"` shows the JSON report's value at that path
  (integers exactly, grouped with commas; decimals to the precision the page prints them).
- A screenshot of the top of the page (1000 x 1200 px) is compared with REFERENCE.png: same size, and at most 1%
  of pixels differing by more than 48 in any channel (fonts' anti-aliasing varies; a layout that
  moved does not pass).

Prints one JSON object with what it saw; exits 1 with the reasons on a failed check, 77 when
Chromium is missing.
"""
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

WINDOW = (1000, 1200)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(binary, url, *extra):
    with tempfile.TemporaryDirectory(prefix="netsift-chromium-") as profile:
        arguments = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
                     "--force-device-scale-factor=1", f"--user-data-dir={profile}",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", *extra, url]
        return subprocess.run(arguments, capture_output=True, text=True, timeout=120)


def console_problems(stderr):
    """Console messages Chromium logged (CONSOLE lines), and failed loads."""
    problems = []
    for line in stderr.splitlines():
        if "CONSOLE" in line or "Failed to load resource" in line or "net::ERR_" in line:
            problems.append(line.strip())
    return problems


class DOM(html.parser.HTMLParser):
    """The charts (their mark paths) and the data-json elements (their text) of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.charts = []          # [{"title": str, "marks": [(class, d)]}]
        self.numbers = []         # [(path, text)]
        self.stack = []           # open data-json elements: [path, text]
        self.in_chart = False
        self.title_next = False
        self.external = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            value = attrs.get(name, "")
            if value and not value.startswith("#"):
                self.external.append(f"<{tag} {name}={value}>")
        if tag == "link" or tag == "script":
            self.external.append(f"<{tag}>")
        if tag == "svg" and "chart" in attrs.get("class", "").split():
            self.charts.append({"title": attrs.get("aria-label", ""), "marks": []})
            self.in_chart = True
        elif tag == "path" and self.in_chart and "mark" in attrs.get("class", "").split():
            self.charts[-1]["marks"].append((attrs.get("class"), attrs.get("d", "")))
        if "data-json" in attrs:
            self.stack.append([attrs["data-json"], ""])

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_chart = False
        if tag == "span" and self.stack:
            self.numbers.append(tuple(self.stack.pop()))

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][1] += data


def value_at(document, path):
    value = document
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        else:
            value = value[part]
    return value


def agrees(text, value):
    """Whether the page's text shows the JSON's number: integers exactly, with grouping commas;
    decimals to the precision the page prints (6.9 for 6.9, 0.031 for 0.030801)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return text == str(value)
    if isinstance(value, int):
        return text == f"{value:,}"
    try:
        shown = float(text.replace(",", ""))
    except ValueError:
        return False
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(shown - value) <= 0.5 * 10 ** -decimals + 1e-12


def decode_png(path):
    """Width, height and rows of RGBA (or RGB) bytes of an 8-bit, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6), f"{path}: unsupported PNG ({depth}-bit, colour {colour})"
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous, offset = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[offset]
        line = bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def compare(screenshot, reference):
    w1, h1, c1, a = decode_png(screenshot)
    w2, h2, c2, b = decode_png(reference)
    if (w1, h1) != (w2, h2):
        return 1.0, f"screenshot is {w1}x{h1}, reference {w2}x{h2}"
    differing = 0
    for row_a, row_b in zip(a, b):
        for x in range(w1):
            pa, pb = row_a[x * c1:x * c1 + 3], row_b[x * c2:x * c2 + 3]
            if max(abs(pa[i] - pb[i]) for i in range(3)) > 48:
                differing += 1
    return differing / (w1 * h1), None


def main():
    report, report_json, reference = sys.argv[1:4]
    write_reference = "--write-reference" in sys.argv
    binary = chromium()
    if binary is None:
        print("chromium is not installed (scripts/bootstrap installs Debian's chromium)")
        return 77
    url = "file://" + os.path.abspath(report)
    failures = []

    dump = run_chromium(binary, url, "--dump-dom")
    if dump.returncode != 0:
        failures.append(f"chromium --dump-dom exited {dump.returncode}: {dump.stderr[-400:]}")
    failures += [f"console: {line}" for line in console_problems(dump.stderr)]
    dom = DOM()
    dom.feed(dump.stdout)
    failures += [f"external reference: {ref}" for ref in dom.external]
    if not dom.charts:
        failures.append("no chart in the page")
    for chart in dom.charts:
        if not chart["marks"] or not any(d.strip() for _, d in chart["marks"]):
            failures.append(f"chart without a drawn path: {chart['title']}")

    with open(report_json) as f:
        document = json.load(f)
    for path, text in dom.numbers:
        try:
            expected = value_at(document, path)
        except (KeyError, IndexError, ValueError, TypeError):
            failures.append(f"data-json {path}: not in the JSON report")
            continue
        if not agrees(text.strip(), expected):
            failures.append(f"data-json {path}: page shows {text.strip()!r}, JSON has {expected!r}")

    with tempfile.TemporaryDirectory(prefix="netsift-shot-") as folder:
        shot = os.path.join(folder, "shot.png")
        taken = run_chromium(binary, url, f"--screenshot={shot}")
        failures += [f"console: {line}" for line in console_problems(taken.stderr)]
        if not os.path.exists(shot):
            failures.append(f"no screenshot: {taken.stderr[-400:]}")
            difference = None
        elif write_reference:
            shutil.copyfile(shot, reference)
            difference = 0.0
        else:
            difference, problem = compare(shot, reference)
            if problem:
                failures.append(problem)
            elif difference > 0.01:
                kept = os.path.join(tempfile.gettempdir(), "netsift-report-screenshot.png")
                shutil.copyfile(shot, kept)
                failures.append(f"screenshot differs from the reference in {difference:.2%} of pixels (kept at {kept})")

    print(json.dumps({"charts": [{"title": c["title"], "marks": [m[0] for m in c["marks"] if m[1].strip()]}
                                 for c in dom.charts],
                      "numbers": len(dom.numbers), "paths": sorted({p for p, _ in dom.numbers}),
                      "screenshot_difference": difference, "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
