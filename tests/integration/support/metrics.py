"""Reading GET /metrics (Prometheus text format) in tests."""

from . import httpapi


def scrape(svc):
    r = httpapi.request(svc.http_port, "GET", "/metrics", tls=svc.tls())
    assert r.status == 200, r
    return r


def samples(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        if "{" in series:
            name, labels = series.split("{", 1)
            pairs = frozenset(tuple(kv.split("=", 1)) for kv in labels.rstrip("}").split(","))
            pairs = frozenset((k, v.strip('"')) for k, v in pairs)
        else:
            name, pairs = series, frozenset()
        out[(name, pairs)] = float(value)
    return out


def value(text, name, **labels):
    want = frozenset(labels.items())
    return samples(text).get((name, want), 0.0)
