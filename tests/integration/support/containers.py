"""Podman for the container suites (test_image, test_compose): scripts/container-setup,
image builds from a clean copy of the source tree (the files git knows, so untracked
build directories cannot leak into the build context), containers with unique names
that are always removed, and the health and state podman reports.

Every podman call has a timeout; failures raise AssertionError with the command and its
output."""

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
import uuid

from . import env

PODMAN = "podman"
SETUP = os.path.join(env.SOURCE_DIR, "scripts", "container-setup")


def cache_dir():
    """The cache the scripts share (scripts/build-consul, scripts/container-setup)."""
    d = os.environ.get("PAYMENT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "payment-service")
    os.makedirs(d, exist_ok=True)
    return d


def run(args, timeout=120, check=True, input=None, env_extra=None, cwd=None):
    """Runs @args; returns the CompletedProcess (text). With @check, a non-zero exit
    raises AssertionError with the command and the tail of its output."""
    e = None
    if env_extra:
        e = dict(os.environ)
        e.update(env_extra)
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input,
                           env=e, cwd=cwd)
    except subprocess.TimeoutExpired as x:
        raise AssertionError(f"{' '.join(args)}: no exit within {timeout}s\n"
                             f"{_tail(x.stdout)}\n{_tail(x.stderr)}")
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: exit {p.returncode}\n"
                             f"stdout: {_tail(p.stdout)}\nstderr: {_tail(p.stderr)}")
    return p


def _tail(text, n=60):
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").splitlines()[-n:])


def podman(*args, **kw):
    return run([PODMAN, *args], **kw)


def unique(prefix):
    """A name no other run uses: prefix, pid, random suffix."""
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def locked(name):
    """Serialises a step across concurrent suites (both container suites build the same
    images: the second waits and then finds every layer in podman's cache)."""
    with open(os.path.join(cache_dir(), f".{name}.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def setup():
    """Runs scripts/container-setup; returns {"base_image": "present"|"imported",
    "base_image_seconds": float or None, "log": its stderr}."""
    t0 = time.monotonic()
    p = run([SETUP], timeout=1200)
    took = time.monotonic() - t0
    imported = "base image debian:12 imported" in p.stderr
    return {"base_image": "imported" if imported else "present",
            "base_image_seconds": took if imported else None, "log": p.stderr}


def clean_tree(dest):
    """Copies the source tree's files that git knows into @dest: tracked files and
    untracked ones that .gitignore does not exclude (new files not added yet), never
    ignored ones such as build directories. Fails when the tree is not a git checkout."""
    p = run(["git", "-C", env.SOURCE_DIR, "rev-parse", "--show-toplevel"], check=False)
    if p.returncode != 0:
        raise AssertionError(
            f"{env.SOURCE_DIR} is not a git work tree ({p.stderr.strip()}): the image is "
            "built from the files git lists, so that untracked build output cannot leak "
            "into the build context")
    top = p.stdout.strip()
    listed = run(["git", "-C", top, "ls-files", "-z", "--cached", "--others",
                  "--exclude-standard"]).stdout.split("\0")
    n = 0
    for rel in listed:
        if not rel:
            continue
        src = os.path.join(top, rel)
        if not os.path.lexists(src):   # deleted in the work tree, not committed yet
            continue
        dst = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif os.path.isfile(src):
            shutil.copy2(src, dst)
            n += 1
    assert n > 0, f"git lists no files in {top}"
    return n


def build(context, dockerfile, tag, log_name):
    """podman build (host network for apt, never pulling: the base is debian:12 from
    scripts/container-setup, docker format to keep HEALTHCHECK). Returns {"seconds",
    "steps", "cached_steps"}; the build output goes to the suite's log directory."""
    cmd = [PODMAN, "build", "--pull=never", "--network", "host", "--format", "docker",
           "-f", dockerfile, "-t", tag, context]
    log_path = os.path.join(env.log_dir(), log_name)
    with locked("podman-build"):
        t0 = time.monotonic()
        p = run(cmd, timeout=1800, check=False)
        took = time.monotonic() - t0
    with open(log_path, "w") as f:
        f.write(f"### {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    assert p.returncode == 0, (f"podman build of {tag} failed (exit {p.returncode}); "
                               f"log: {log_path}\n{_tail(p.stdout + p.stderr, 40)}")
    out = p.stdout + p.stderr
    steps = len(re.findall(r"STEP \d+/\d+:", out))
    cached = len(re.findall(r"^--> Using cache", out, re.M))
    return {"seconds": took, "steps": steps, "cached_steps": cached}


def image_inspect(ref):
    return json.loads(podman("image", "inspect", ref).stdout)[0]


def inspect(name):
    """podman inspect of a container, or None when it does not exist."""
    p = podman("inspect", "--type", "container", name, check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)[0]


def save_log(name):
    """Keeps the log of container @name in the suite's log directory (for CI)."""
    p = podman("logs", name, check=False, timeout=60)
    if p.returncode == 0:
        with open(os.path.join(env.log_dir(), f"{name}.log"), "w") as f:
            f.write(p.stdout + p.stderr)


def remove(name):
    """Removes container @name and its anonymous volumes whatever its state (no error
    when it is gone); keeps its log first."""
    save_log(name)
    podman("rm", "-f", "-v", "-t", "0", name, check=False, timeout=120)


def healthcheck(name):
    """Runs the container's HEALTHCHECK once: (healthy?, podman's output)."""
    p = podman("healthcheck", "run", name, check=False, timeout=60)
    out = (p.stdout + p.stderr).strip()
    return p.returncode == 0, out


def health_status(name):
    """State.Health.Status as podman keeps it (starting, healthy, unhealthy)."""
    state = (inspect(name) or {}).get("State", {})
    return (state.get("Health") or state.get("Healthcheck") or {}).get("Status")
