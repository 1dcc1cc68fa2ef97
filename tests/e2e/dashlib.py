"""Helpers for the dashboard tests (tests/e2e/dashboard_*.sh): HTTP with
basic auth against 127.0.0.1, and a small Prometheus text parser."""
import base64
import http.client
import json
import re
import sys
import time


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def request(port, path, method="GET", auth=("admin", "pw"), headers=None,
            body=None):
    """(status, headers dict, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = dict(headers or {})
    if auth is not None:
        tok = base64.b64encode(("%s:%s" % auth).encode()).decode()
        h["Authorization"] = "Basic " + tok
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def get_json(port, path, want=200, **kw):
    st, _, data = request(port, path, **kw)
    check(st == want, "%s: HTTP %d, want %d: %r" % (path, st, want, data[:200]))
    return json.loads(data) if data else None


def wait_for(what, fn, secs=10.0):
    """Poll fn() until it returns a true value; that value, or Fail."""
    end = time.time() + secs
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise Fail("timed out waiting for " + what + " (last: %r)" % (last,))


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def prom_parse(text):
    """{(name, ((label, value), ...)): float}; checks the exposition form:
    HELP and TYPE before a metric's samples, one TYPE per metric, labels
    well formed, values numbers, every line ends with a newline."""
    check(text.endswith("\n"), "exposition does not end with a newline")
    types, out = {}, {}
    current = None
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            check(typ in ("gauge", "counter"), "bad TYPE line: " + line)
            check(name not in types, "TYPE twice for " + name)
            types[name] = typ
            current = name
            continue
        m = SAMPLE.match(line)
        check(m is not None, "bad sample line: %r" % line)
        name, labels = m.group(1), m.group(3) or ""
        check(name == current, "sample %s outside its TYPE block" % name)
        pairs, pos = [], 0
        while pos < len(labels):
            lm = LABEL.match(labels, pos)
            check(lm is not None, "bad labels: %r" % labels)
            pairs.append((lm.group(1), lm.group(2)))
            pos = lm.end()
        out[(name, tuple(pairs))] = float(m.group(4))
    return out, types


def main(fn):
    try:
        fn(sys.argv[1:])
    except Fail as e:
        print("FAIL:", e)
        sys.exit(1)
    print("ok")


def slurp(path):
    """A file's text, or "" while it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""
