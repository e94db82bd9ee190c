"""The Docker files, without a Docker engine (none runs on our machines or in CI):
docker/docker-compose.yml must pass Debian's `docker-compose config` and wire the service
to healthy dependencies; docker/Dockerfile must pass a structural lint written here (no
Dockerfile linter is packaged in Debian 12): Debian 12 stages, a build stage with -dev
packages and a runtime stage without any, apt hygiene, a non-root user, a HEALTHCHECK on
/health, exec-form ENTRYPOINT, COPY sources that exist, PAYMENT_* variables that are real
configuration keys, and a runtime package for every shared library the built binary
needs (readelf + dpkg). That the image builds and serves is test_image's part (podman);
that the compose stack comes up, test_compose's."""

import configparser
import os
import re
import shlex
import subprocess

import pytest
import yaml

from support import env

DOCKER_DIR = os.path.join(env.SOURCE_DIR, "docker")
DOCKERFILE = os.path.join(DOCKER_DIR, "Dockerfile")
COMPOSE = os.path.join(DOCKER_DIR, "docker-compose.yml")
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
                "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK",
                "SHELL"}


def config_variables():
    """Every PAYMENT_<GROUP>_<KEY> the service accepts (conf/payment.conf names every key)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(env.CONFIG)
    return {f"PAYMENT_{g}_{k}".upper() for g in parser.sections() for k in parser[g]}


def instructions(path):
    """[(KEYWORD, arguments)] of a Dockerfile: continuations joined, comments dropped."""
    out, current = [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not current and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                current += line[:-1] + " "
                continue
            current += line
            keyword, _, args = current.strip().partition(" ")
            out.append((keyword.upper(), args.strip()))
            current = ""
    assert not current, "a continuation line ends the file"
    return out


def stages(instrs):
    """[(from-args, [instructions])] per stage."""
    out = []
    for kw, args in instrs:
        if kw == "FROM":
            out.append((args, []))
        else:
            assert out, f"{kw} before the first FROM"
            out[-1][1].append((kw, args))
    return out


def apt_packages(run_args):
    """Packages named by `apt-get install` in one RUN."""
    pkgs = []
    for part in re.split(r"&&|;", run_args):
        words = shlex.split(part)
        if words[:2] == ["apt-get", "install"]:
            pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def test_compose_config():
    p = subprocess.run(["docker-compose", "-f", COMPOSE, "config"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    config = yaml.safe_load(p.stdout)
    services = config["services"]
    assert {"consul", "mysql", "redis", "payment"} <= services.keys()
    assert "-dev" in services["consul"]["command"]
    # The official images by default; each from a variable (test_compose runs stand-ins).
    assert services["mysql"]["image"] == "mariadb:10.11"
    assert services["redis"]["image"] == "redis:7"
    consul = services["consul"]["image"]
    assert re.fullmatch(r"hashicorp/consul:1\.14\.\d+", consul), \
        f"{consul}: Consul 1.14.x only (MPL-2.0; 1.17 and later are BUSL)"
    raw = yaml.safe_load(open(COMPOSE))["services"]
    for service, variable in (("mysql", "PAYMENT_MYSQL_IMAGE"), ("redis", "PAYMENT_REDIS_IMAGE"),
                              ("consul", "PAYMENT_CONSUL_IMAGE"), ("payment", "PAYMENT_IMAGE")):
        assert raw[service]["image"].startswith("${" + variable + ":-"), raw[service]["image"]
    assert services["mysql"]["environment"].get("MARIADB_ROOT_PASSWORD"), \
        services["mysql"]["environment"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}"
              for v in services["mysql"].get("volumes", [])]
    schema = [m for m in mounts if "/docker-entrypoint-initdb.d/" in m]
    assert schema and os.path.samefile(schema[0].split(":")[0],
                                       os.path.join(env.SOURCE_DIR, "src/storage/schema.sql"))
    payment = services["payment"]
    for dep in ("consul", "mysql", "redis"):
        assert payment["depends_on"][dep]["condition"] == "service_healthy", payment["depends_on"]
        assert services[dep].get("healthcheck", {}).get("test"), f"{dep} has no healthcheck"
    known = config_variables()
    unknown = [k for k in payment["environment"] if k.startswith("PAYMENT_") and k not in known]
    assert not unknown, f"not configuration keys: {unknown}"
    assert os.path.samefile(os.path.join(payment["build"]["context"],
                                         payment["build"]["dockerfile"]), DOCKERFILE)


def test_dockerfile_lint():
    lint_dockerfile()


def lint_dockerfile():
    """Asserts the rules above; returns the runtime stage's packages."""
    instrs = instructions(DOCKERFILE)
    for kw, _ in instrs:
        assert kw in INSTRUCTIONS, f"unknown instruction {kw}"
    st = stages(instrs)
    assert len(st) >= 2, "not multi-stage"
    for from_args, _ in st:
        assert from_args.split()[0] == "debian:12", from_args
    build_name = st[0][0].split()[-1]
    assert st[0][0].split()[1].upper() == "AS", "the build stage has no name"

    for _, body in st:
        for kw, args in body:
            if kw == "RUN" and "apt-get install" in args:
                assert "apt-get update" in args, "apt-get install without update in the same RUN"
                assert "--no-install-recommends" in args, args
                assert "-y" in args.split(), args
                assert "rm -rf /var/lib/apt/lists" in args, "apt lists left in the layer"
            if kw in ("COPY", "ADD") and "--from=" not in args:
                for src in shlex.split(args)[:-1]:
                    if not src.startswith("--"):
                        assert os.path.exists(os.path.join(env.SOURCE_DIR, src)), src
            if kw == "ENV":
                names = re.findall(r"(\w+)=", args)
                bad = [n for n in names if n.startswith("PAYMENT_") and n not in config_variables()]
                assert not bad, f"not configuration keys: {bad}"

    build_pkgs = [p for kw, a in st[0][1] if kw == "RUN" for p in apt_packages(a)]
    assert any(p.endswith("-dev") for p in build_pkgs), "the build stage installs no -dev package"
    runtime = st[-1][1]
    runtime_pkgs = [p for kw, a in runtime if kw == "RUN" for p in apt_packages(a)]
    assert not [p for p in runtime_pkgs if p.endswith("-dev") or p in ("gcc", "cmake")], \
        runtime_pkgs
    assert any(kw == "COPY" and f"--from={build_name}" in a for kw, a in runtime), \
        "the runtime stage does not copy the binary from the build stage"
    users = [a for kw, a in runtime if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), "runs as root"
    last_user = max(i for i, (kw, _) in enumerate(runtime) if kw == "USER")
    entry = [i for i, (kw, _) in enumerate(runtime) if kw in ("ENTRYPOINT", "CMD")]
    assert entry and min(entry) > last_user
    health = [a for kw, a in runtime if kw == "HEALTHCHECK"]
    assert health and "/health" in health[0] and "CMD" in health[0], health
    entrypoint = [a for kw, a in runtime if kw == "ENTRYPOINT"]
    assert entrypoint and entrypoint[0].startswith("["), "ENTRYPOINT not in exec form: " \
        "signals would go to a shell, not the service"
    return runtime_pkgs


def needed_libraries(binary):
    """{soname: path} of the libraries @binary links directly (NEEDED), as resolved here."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                         check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)",
                               subprocess.run(["ldd", binary], capture_output=True, text=True,
                                              check=True).stdout, re.M))
    return {n: resolved.get(n) for n in needed}


def package_of(path):
    """The Debian package that installed @path (tried as is and resolved), or None."""
    for candidate in (path, os.path.realpath(path)):
        p = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout.splitlines()[0].split(":")[0]
    return None


def test_runtime_stage_has_every_needed_library():
    if not os.path.exists(env.BINARY):
        pytest.fail(f"service binary missing: {env.BINARY}")
    runtime_pkgs = set(lint_dockerfile())
    missing = []
    for soname, path in needed_libraries(env.BINARY).items():
        pkg = package_of(path) if path else None
        if pkg is None or pkg in ("libc6",) or pkg.startswith("gcc-") or pkg.startswith("libasan") \
                or pkg.startswith("libubsan"):
            continue
        if pkg not in runtime_pkgs:
            missing.append(f"{soname} ({pkg})")
    assert not missing, f"shared libraries without a runtime package: {missing}"
