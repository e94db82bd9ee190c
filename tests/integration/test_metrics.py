"""GET /metrics: the Prometheus text format (promtool check metrics accepts it), counters
that match the requests sent over both transports, and a real Prometheus server (Debian's
`prometheus`, loopback, private data directory, 1 s scrape interval) that scrapes it:
`up` is 1 and the request counter it stored equals what the test sent."""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request

import pytest

from support import data, httpapi
from support.env import devservers
from support.metrics import samples, scrape, value
from support.rpc import RpcClient
from support.service import poll

HTTP_CHARGE = 'method="POST /payment/charge",transport="http"'


@pytest.fixture(scope="module")
def metrics_service(start_service):
    return start_service()


def test_content_type_and_promtool(metrics_service):
    svc = metrics_service
    httpapi.charge(svc.http_port, data.charge())
    with RpcClient(svc.rpc_port) as rpc:
        rpc.charge(data.charge())
        rpc.charge(data.charge(amount=0))
    r = scrape(svc)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    p = subprocess.run(["promtool", "check", "metrics"], input=r.raw, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"promtool: {p.stdout}{p.stderr}\n{r.raw[:3000]}"
    for name in ("payment_requests_total", "payment_request_duration_seconds_bucket",
                 "payment_requests_in_flight", "payment_rpc_connections",
                 "payment_rpc_reply_writes_total",
                 "payment_mysql_pool_connections_in_use", "payment_mysql_pool_waiting",
                 "payment_mysql_charge_statements_total", "payment_mysql_charge_rows_total",
                 "payment_mysql_charges_waiting",
                 "payment_cache_hits_total", "payment_cache_misses_total",
                 "payment_cache_errors_total", "payment_cache_pending_repairs",
                 "payment_consul_registered",
                 "payment_build_info"):
        assert f"\n{name}" in r.raw, f"{name} missing"


def test_counters_match_requests(metrics_service):
    svc = metrics_service
    before = scrape(svc).raw
    n_http, n_rpc, n_bad = 7, 5, 3
    for _ in range(n_http):
        assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"
    with RpcClient(svc.rpc_port) as rpc:
        for _ in range(n_rpc):
            assert rpc.charge(data.charge())[0] == "ok"
        for _ in range(n_bad):
            assert rpc.charge(data.charge(amount=0))[:2] == ("error", 4004002)
        mid = scrape(svc).raw
        assert value(mid, "payment_rpc_connections") >= 1
    httpapi.request(svc.http_port, "GET", "/nope")
    after = scrape(svc).raw

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("payment_requests_total", transport="http", method="POST /payment/charge",
                 code="0") == n_http
    assert delta("payment_requests_total", transport="rpc", method="Charge", code="0") == n_rpc
    assert delta("payment_requests_total", transport="rpc", method="Charge",
                 code="4004002") == n_bad
    assert delta("payment_requests_total", transport="http", method="unmatched",
                 code="4004007") == 1
    assert delta("payment_request_duration_seconds_count", transport="rpc",
                 method="Charge") == n_rpc + n_bad
    assert delta("payment_request_duration_seconds_bucket", transport="rpc", method="Charge",
                 le="+Inf") == n_rpc + n_bad
    assert value(after, "payment_requests_in_flight", transport="rpc", method="Charge") == 0
    assert value(after, "payment_build_info", version=value_label(after, "payment_build_info",
                                                                  "version")) == 1


def value_label(text, name, label):
    for (n, labels), _ in samples(text).items():
        if n == name:
            return dict(labels)[label]
    raise AssertionError(f"{name} missing")


def prom_query(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
    except OSError:
        return None
    result = body.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


def test_real_prometheus_scrapes(start_service):
    svc = start_service()
    tmp = tempfile.mkdtemp(prefix="payment-prometheus-")
    port = devservers.free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: payment
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{svc.http_port}"]
""")
    log = open(os.path.join(tmp, "prometheus.log"), "wb")
    proc = subprocess.Popen(["prometheus", f"--config.file={config}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            preexec_fn=devservers._die_with_parent)
    try:
        poll(lambda: prom_query(port, 'up{job="payment"}') == 1.0, 60, interval=0.2,
             what="Prometheus up == 1")
        sent = 9
        for _ in range(sent):
            assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"
        query = f'sum(payment_requests_total{{{HTTP_CHARGE},code="0"}})'
        poll(lambda: prom_query(port, query) == float(sent), 60, interval=0.2,
             what=f"Prometheus sees {sent} charges")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    svc.stop_and_check()
