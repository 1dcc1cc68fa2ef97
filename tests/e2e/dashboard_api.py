"""Checks of dashboard_api.sh against a running frps (see there)."""
import subprocess
import time

from dashlib import Fail, check, get_json, main, prom_parse, request, wait_for

# frps names a proxy "<user>.<name>" when the client has a user, like frp.
E, U = "dashuser.echo", "dashuser.uecho"


def proxy(port, name, typ="tcp"):
    return get_json(port, "/api/proxy/%s/%s" % (typ, name))


def scrape(port):
    st, hdr, body = request(port, "/metrics")
    check(st == 200, "/metrics: HTTP %d" % st)
    check(hdr.get("content-type", "").startswith("text/plain"),
          "/metrics content type " + hdr.get("content-type", ""))
    return prom_parse(body.decode())


def phase_transfer(args):
    wp, n = int(args[0]), int(args[1])
    # The relay's bytes reach the stats within a tick (1 s).
    p = wait_for("echo's traffic in the API",
                 lambda: (lambda x: x if x["todayTrafficIn"] == n and
                          x["todayTrafficOut"] == n else None)(proxy(wp, E)))
    check(p["name"] == E and p["status"] == "online", "proxy %r" % p)
    check(p["conf"]["remotePort"] > 0 and p["curConns"] == 0, "proxy %r" % p)
    for k in ("lastStartTime", "lastCloseTime", "clientID", "user"):
        check(k in p, "proxy has no " + k)
    check(get_json(wp, "/api/proxies/" + U)["name"] == U, "/api/proxies/{name}")
    lst = get_json(wp, "/api/proxy/tcp")["proxies"]
    check([x["name"] for x in lst] == [E], "tcp list %r" % lst)
    check(lst[0]["clientVersion"] == "0.54.0", "clientVersion in the list")
    udp = get_json(wp, "/api/proxy/udp")["proxies"]
    check([x["name"] for x in udp] == [U], "udp list %r" % udp)
    t = get_json(wp, "/api/traffic/" + E)
    check(t == {"name": E, "trafficIn": [n, 0, 0, 0, 0, 0, 0],
                "trafficOut": [n, 0, 0, 0, 0, 0, 0]}, "traffic %r" % t)
    si = get_json(wp, "/api/serverinfo")
    check(si["totalTrafficIn"] == n and si["totalTrafficOut"] == n,
          "serverinfo totals %r" % si)
    check(si["clientCounts"] == 1 and si["proxyTypeCount"] == {"tcp": 1, "udp": 1},
          "serverinfo counts %r" % si)
    for k in ("version", "bindPort", "kcpBindPort", "maxPoolCount",
              "heartbeatTimeout", "curConns", "vhostHTTPPort", "subdomainHost"):
        check(k in si, "serverinfo has no " + k)
    cl = get_json(wp, "/api/clients")["clients"]
    check(len(cl) == 1, "clients %r" % cl)
    c = cl[0]
    check(c["online"] and c["user"] == "dashuser", "client %r" % c)
    check(sorted(c["proxies"]) == [E, U], "client proxies %r" % c)
    check(c["trafficIn"] == n and c["trafficOut"] == n, "client traffic %r" % c)
    link = c["link"]
    check(link["transport"] == "tcp" and link["since"] > 0, "link %r" % link)
    # tcp.so measures RTT and counts bytes on the control's stream.
    check(link["bytesIn"] > 0 and link["bytesOut"] > 0, "link bytes %r" % link)
    for k in ("srttMs", "rtoMs", "retransmits", "fecRecovered", "cryptFailures",
              "minRttMs", "inflightBytes", "bandwidthBps", "pacingBps", "lost"):
        check(k in link, "link has no " + k)
    # tcp.so reads them from TCP_INFO: TCP retransmits what it judged lost.
    check(link["lost"] == link["retransmits"], "tcp lost/retransmits %r" % link)
    check(c["linkHistory"][-1]["transport"] == "tcp", "history %r" % c)
    one = get_json(wp, "/api/clients/" + c["runID"])
    check(one["runID"] == c["runID"] and one["proxies"] == c["proxies"],
          "client by id %r" % one)
    # Prometheus agrees with the API.
    m, types = scrape(wp)
    key = ("frp_server_traffic_in", (("name", E), ("type", "tcp")))
    check(m.get(key) == n, "metric %r = %r" % (key, m.get(key)))
    key = ("frp_server_traffic_out", (("name", E), ("type", "tcp")))
    check(m.get(key) == n, "metric %r = %r" % (key, m.get(key)))
    check(m.get(("frp_server_client_counts", ())) == 1, "client counts")
    check(m.get(("frp_server_proxy_counts", (("type", "udp"),))) == 1, "udp count")
    check(types["frp_server_traffic_in"] == "counter", "traffic_in type")
    check(types["frp_server_connection_counts"] == "gauge", "conn counts type")
    lk = ("frps_link_srtt_seconds", (("client", c["runID"]), ("transport", "tcp")))
    check(lk in m, "no %r in /metrics" % (lk,))
    check(m.get(("frps_transport_links", (("transport", "tcp"),))) == 1,
          "transport links")


def phase_live(args):
    """A transfer runs (nettool rtt pings, 64-byte, every 20 ms) while we
    look: rates are non-zero, counters only grow; then it stops and the
    rates fall to zero after the 10-s window."""
    wp, nt, rp = int(args[0]), args[1], args[2]
    # First the earlier transfer leaves the window, so that what follows
    # is the pings' doing.
    wait_for("the earlier transfer's rate back to zero",
             lambda: (lambda x: x["rateIn"] == 0 and x["rateOut"] == 0)(
                 proxy(wp, E)), 14)
    m0, _ = scrape(wp)
    pinger = subprocess.Popen([nt, "rtt", "--host", "127.0.0.1", "--port", rp,
                               "--count", "250", "--interval-ms", "20",
                               "--timeout", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for("a non-zero live rate on echo, one connection",
                 lambda: (lambda x: x["rateIn"] > 0 and x["rateOut"] > 0 and
                          x["curConns"] == 1)(proxy(wp, E)), 8)
        c = get_json(wp, "/api/clients")["clients"][0]
        check(c["rateIn"] > 0 and c["rateOut"] > 0, "client rate %r" % c)
        si = get_json(wp, "/api/serverinfo")
        check(si["rateIn"] > 0 and si["curConns"] == 1, "server rate %r" % si)
        m1, types = scrape(wp)
        check(m1[("frps_proxy_rate_in_bytes_per_second",
                  (("name", E), ("type", "tcp")))] > 0, "metric rate")
        check(m1[("frp_server_connection_counts",
                  (("name", E), ("type", "tcp")))] == 1, "metric conns")
        for k, v in m0.items():
            if types.get(k[0]) == "counter" and k in m1:
                check(m1[k] >= v, "counter %r went down: %r -> %r" % (k, v, m1[k]))
        out, _ = pinger.communicate(timeout=30)
        check(pinger.returncode == 0, "nettool rtt: %r" % out)
    finally:
        if pinger.poll() is None:
            pinger.kill()
            pinger.wait()
    m2, _ = scrape(wp)
    for k, v in m1.items():
        if types.get(k[0]) == "counter" and k in m2:
            check(m2[k] >= v, "counter %r went down: %r -> %r" % (k, v, m2[k]))
    ekey = ("frp_server_traffic_in", (("name", E), ("type", "tcp")))
    check(m2[ekey] > m0[ekey], "traffic_in did not grow during the pings")
    wait_for("echo's rate back to zero",
             lambda: (lambda x: x["rateIn"] == 0 and x["rateOut"] == 0)(
                 proxy(wp, E)), 14)
    check(get_json(wp, "/api/serverinfo")["rateIn"] == 0, "server rate after")


def phase_errors(args):
    wp = int(args[0])
    for auth in (None, ("admin", "wrong"), ("nobody", "pw")):
        st, hdr, _ = request(wp, "/api/serverinfo", auth=auth)
        check(st == 401, "auth %r: HTTP %d" % (auth, st))
        check("basic" in hdr.get("www-authenticate", "").lower(),
              "401 without WWW-Authenticate")
    st, _, _ = request(wp, "/healthz", auth=None)
    check(st == 200, "/healthz without auth: %d" % st)
    for path in ("/api/proxy/tcp/nope", "/api/traffic/nope", "/api/proxies/nope",
                 "/api/proxy/udp/" + E, "/api/clients/nope", "/nope",
                 "/static/nope.js"):
        st, _, body = request(wp, path)
        check(st == 404, "%s: HTTP %d" % (path, st))
    st, _, _ = request(wp, "/api/proxies?status=online", method="DELETE")
    check(st == 400, "DELETE status=online: %d" % st)
    st, _, _ = request(wp, "/api/serverinfo", method="PUT", body=b"{}")
    check(st == 405, "PUT serverinfo: %d" % st)
    st, hdr, body = request(wp, "/")
    check(st == 200 and hdr["content-type"].startswith("text/html") and
          b"proxy-table" in body and b"app.js" in body, "/ page")
    st, hdr, _ = request(wp, "/static/app.js")
    check(st == 200 and "javascript" in hdr["content-type"], "app.js")


def phase_offline(args):
    """The client left: its entry stays, offline, without a link; its
    proxies stay listed offline with their counts."""
    wp, n = int(args[0]), int(args[1])
    c = wait_for("the client offline", lambda: (lambda c: c if not c["online"] else None)(
        get_json(wp, "/api/clients")["clients"][0]))
    check(c["link"] is None and c["disconnectedAt"] >= c["lastConnectedAt"] > 0,
          "offline client %r" % c)
    check(c["proxies"] == [] and c["trafficIn"] >= n, "offline client %r" % c)
    p = proxy(wp, E)
    check(p["status"] == "offline" and p["conf"] is None and p["lastCloseTime"] != "",
          "offline proxy %r" % p)
    si = get_json(wp, "/api/serverinfo")
    check(si["clientCounts"] == 0 and si["proxyTypeCount"] == {}, "serverinfo %r" % si)
    m, _ = scrape(wp)
    check(m[("frp_server_client_counts", ())] == 0, "metric client counts")
    check(not any(k[0].startswith("frps_link_") for k in m), "link metrics of a gone client")


MODEL = ("minRttMs", "bandwidthBps", "pacingBps")
MODEL_METRICS = ("frps_link_min_rtt_seconds", "frps_link_bandwidth_bits_per_second",
                 "frps_link_pacing_bits_per_second", "frps_link_lost_total",
                 "frps_link_inflight_bytes")


def phase_kcp(args):
    """After 1 MiB each way over KCP through 5 ms / 2 % loss: the link
    block carries the sender's model (non-zero), losses are counted and
    are a part of the retransmits; /metrics and frpc's API agree."""
    wp, ap = int(args[0]), int(args[1])
    on = [c for c in get_json(wp, "/api/clients")["clients"] if c["online"]]
    check(len(on) == 1 and on[0]["user"] == "kcpuser", "online clients %r" % on)
    c = get_json(wp, "/api/clients/" + on[0]["runID"])
    link = c["link"]
    check(link["transport"] == "kcp", "link %r" % link)
    for k in MODEL:
        check(isinstance(link[k], int) and link[k] > 0, "kcp link %s: %r" % (k, link))
    # 10 ms of delay on each round trip: the path's floor is seen.
    check(10 <= link["minRttMs"] <= link["srttMs"] + link["rtoMs"], "min RTT %r" % link)
    check(isinstance(link["inflightBytes"], int) and link["inflightBytes"] >= 0,
          "inflightBytes %r" % link)
    check(link["lost"] > 0 and link["lost"] <= link["retransmits"],
          "lost vs retransmits at 2 %% loss: %r" % link)
    m, types = scrape(wp)
    lab = (("client", c["runID"]), ("transport", "kcp"))
    for name in MODEL_METRICS:
        check((name, lab) in m, "no %s%r in /metrics" % (name, lab))
    check(types["frps_link_lost_total"] == "counter", "lost type")
    check(types["frps_link_bandwidth_bits_per_second"] == "gauge", "bandwidth type")
    for name in MODEL_METRICS[:4]:
        check(m[(name, lab)] > 0, "%s = %r" % (name, m[(name, lab)]))
    check(m[("frps_link_lost_total", lab)] >= link["lost"], "lost_total went down")
    # frpc sees its end of the same link.
    t = get_json(ap, "/api/transport", auth=None)
    check(t["protocol"] == "kcp", "frpc transport %r" % t)
    for k in ("min_rtt_ms", "bandwidth_bps", "pacing_bps"):
        check(t[k] > 0, "frpc %s: %r" % (k, t))
    check(0 <= t["lost"] <= t["retransmits"] and t["inflight_bytes"] >= 0, "frpc %r" % t)
    print("kcp link at frps: " + ", ".join("%s %s" % (k, link[k]) for k in
          ("srttMs", "minRttMs", "bandwidthBps", "pacingBps", "lost", "retransmits")))


PHASES = {"kcp": phase_kcp, "transfer": phase_transfer, "live": phase_live, "errors": phase_errors,
          "offline": phase_offline}

if __name__ == "__main__":
    import sys
    main(lambda a: PHASES[a[0]](a[1:]))
