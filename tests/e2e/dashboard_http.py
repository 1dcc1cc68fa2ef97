"""Malformed requests against frps's web server (dashboard_http.sh):
each gets a clear 4xx (or the connection closed for bytes that are not
HTTP), the server keeps answering, and it holds no more descriptors after
the storm than before."""
import base64
import os
import socket
import time

from dashlib import check, main, request, wait_for


def raw(port, data, read_secs=5.0):
    """Send bytes, return the status code of the answer (0: closed
    without one)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_secs)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before reading everything
        buf = b""
        try:
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    if not buf.startswith(b"HTTP/1."):
        return 0
    return int(buf.split(b" ", 2)[1])


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def run(args):
    wp, pid = int(args[0]), int(args[1])
    auth = "Basic " + base64.b64encode(b"admin:pw").decode()
    base_fds = nfds(pid)

    def get(path, extra=b""):
        return (b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Authorization: " + auth.encode() + b"\r\n" + extra + b"\r\n")

    cases = [
        # oversized headers (limit 16 KiB)
        ("oversized header", get(b"/api/serverinfo", b"X-Big: " + b"a" * 40000 + b"\r\n"),
         (400, 413, 431)),
        ("many headers", get(b"/api/serverinfo", b"".join(
            b"X-H%d: v\r\n" % i for i in range(3000))), (400, 413, 431)),
        # bad auth headers
        ("auth not base64", b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: Basic !!!***\r\nConnection: close\r\n\r\n", (401,)),
        ("auth no colon", b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
         + base64.b64encode(b"adminpw") + b"\r\nConnection: close\r\n\r\n", (401,)),
        ("auth bearer", b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: Bearer abc\r\nConnection: close\r\n\r\n", (401,)),
        ("auth empty", b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: \r\nConnection: close\r\n\r\n", (401,)),
        ("auth huge", b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
         + base64.b64encode(b"admin:" + b"p" * 9000) + b"\r\nConnection: close\r\n\r\n",
         (401,)),
        ("auth with NUL", b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
         + base64.b64encode(b"admin\x00:pw") + b"\r\nConnection: close\r\n\r\n", (401,)),
        # unknown and odd paths
        ("unknown path", get(b"/api/nothing/here"), (404,)),
        ("traversal", get(b"/static/../../etc/passwd"), (404,)),
        ("encoded traversal", get(b"/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd"), (404,)),
        ("NUL in path", get(b"/api/proxy/tcp/a%00b"), (400, 404)),
        ("long path", get(b"/api/proxy/tcp/" + b"x" * 8000), (400, 404, 413, 414)),
        ("empty type", get(b"/api/proxy//x"), (404,)),
        # huge bodies to PUT (limit 1 MiB) and methods a route does not take
        ("huge PUT body", b"PUT /api/serverinfo HTTP/1.1\r\nHost: x\r\nAuthorization: "
         + auth.encode() + b"\r\nContent-Length: 4194304\r\nConnection: close\r\n\r\n"
         + b"z" * 65536, (413,)),
        ("PUT small body", b"PUT /api/serverinfo HTTP/1.1\r\nHost: x\r\nAuthorization: "
         + auth.encode() + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", (405,)),
        ("negative length", b"POST /api/serverinfo HTTP/1.1\r\nHost: x\r\nAuthorization: "
         + auth.encode() + b"\r\nContent-Length: -5\r\nConnection: close\r\n\r\n", (0, 400, 405)),
        ("DELETE without status", get(b"/api/proxies").replace(b"GET", b"DELETE", 1),
         (400,)),
        ("unknown method", b"BREW /api/serverinfo HTTP/1.1\r\nHost: x\r\n\r\n", (0, 400, 405, 501)),
        # not HTTP at all
        ("garbage", b"\x16\x03\x01\x00\xff" + os.urandom(300) + b"\r\n\r\n", (0, 400)),
        ("bad version", b"GET / HTTP/9.9\r\n\r\n", (0, 400, 401, 505)),
    ]
    for name, data, want in cases:
        st = raw(wp, data)
        if os.environ.get("DASH_VERBOSE"):
            print(name, st)
        check(st in want, "%s: got %d, want one of %r" % (name, st, want))
        # Still serving after each one.
        st, _, _ = request(wp, "/healthz", auth=None)
        check(st == 200, "after %s: /healthz %d" % (name, st))
    # Seeded random mutations of valid requests: every answer is a status
    # the server means (2xx/4xx/5xx from a handler or evhttp) or a closed
    # connection, and the server keeps serving.
    import random
    rnd = random.Random(int(os.environ.get("FUZZ_SEED", "1")))
    seeds = [get(b"/api/serverinfo"), get(b"/api/proxy/tcp/x"), get(b"/metrics"),
             b"PUT /api/proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
             get(b"/static/app.js", b"Range: bytes=0-10\r\n")]
    tokens = [b"\r\n", b":", b" ", b"%", b"%00", b"/../", b"\x00", b"\xff" * 8,
              b"Content-Length: 99999999999\r\n", b"Transfer-Encoding: chunked\r\n",
              b"Authorization: Basic =\r\n", b"HTTP/1.1", b"?" * 300]
    statuses = {}
    for i in range(int(os.environ.get("FUZZ_ITERS", "150"))):
        b = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(len(b))
            op = rnd.randrange(3)
            if op == 0:
                b[at] = rnd.randrange(256)
            elif op == 1:
                del b[at:at + rnd.randint(1, 8)]
            else:
                b[at:at] = rnd.choice(tokens)
        st = raw(wp, bytes(b), read_secs=1.0)
        statuses[st] = statuses.get(st, 0) + 1
        check(st == 0 or 200 <= st < 600, "mutation %d: status %d" % (i, st))
    check(request(wp, "/healthz", auth=None)[0] == 200, "/healthz after the mutations")
    print("mutated requests, statuses:", dict(sorted(statuses.items())))
    # A connection that sends half a request and then nothing is not a
    # descriptor forever: closing it from our side frees it at once.
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", wp))
        s.sendall(b"GET /api/serverinfo HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    for s in socks:
        s.close()
    wait_for("descriptors back to %d" % base_fds,
             lambda: nfds(pid) <= base_fds, 5)
    st, _, _ = request(wp, "/api/serverinfo")
    check(st == 200, "serverinfo at the end: %d" % st)


if __name__ == "__main__":
    main(run)
