#!/usr/bin/python3
"""Private MariaDB and Redis servers on loopback, for run-local and the integration tests.

Each server lives in its own directory (data, socket, pid file, log) and listens on
127.0.0.1 on a free port. stop() and start() keep the same port and data, so tests can take
a server away and bring it back. Readiness is polled (a real query / PING) with a
deadline; nothing sleeps for a fixed time. Children get PR_SET_PDEATHSIG, so they die with
the process that started them even when it is killed.

Command line (run with /usr/bin/python3):
  devservers.py up --dir DIR [--env-file FILE]
      starts both, prints `export PAYMENT_MYSQL_*=... PAYMENT_REDIS_*=...` lines, then
      `# ready`, then stays in the foreground until SIGINT/SIGTERM, and stops both.
  devservers.py down --dir DIR
      stops a running `up` for DIR (via DIR/state.json).

As a module: MariaDB(dir), TiDB(dir, binary) and Redis(dir), each with start(), stop(),
env(); MariaDB and TiDB share the small MySQL client the tests use (query(), dump(),
create_database(), client_args()), Redis has RedisClient.
"""

import argparse
import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0   # seconds until a server must answer (valgrind-loaded CI machines)
STOP_TIMEOUT = 30.0    # seconds from SIGTERM until SIGKILL

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the thread that forked it exits."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _log(msg):
    print(f"devservers: {msg}", file=sys.stderr, flush=True)


def _find(*names):
    for n in names:
        p = shutil.which(n) or (os.path.exists(f"/usr/sbin/{n}") and f"/usr/sbin/{n}")
        if p:
            return p
    raise FileNotFoundError(f"none of {names} found (run scripts/install-deps)")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _kill_stale(pidfile, marker):
    """Kills a server left over from an earlier crashed run of this very directory."""
    try:
        pid = int(open(pidfile).read().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        return
    if marker not in cmdline:
        return
    _log(f"stopping stale server pid {pid} ({pidfile})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


class _Server:
    """A child process with a port, a log file, and poll-based readiness."""

    name = "server"

    def __init__(self, directory, port=None):
        self.dir = os.path.abspath(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.host = LOOPBACK
        self.port = port
        self.proc = None
        self.log_path = os.path.join(self.dir, f"{self.name}.log")

    # subclasses: _command(), _ready() -> bool, _prepare()
    def _prepare(self):
        pass

    def start(self, timeout=START_TIMEOUT):
        """Starts the server (same port and data as before, if started earlier) and returns
        when it answers a real request. Raises RuntimeError with the log tail on failure."""
        if self.proc is not None and self.proc.poll() is None:
            return
        self._prepare()
        fixed_port = self.port is not None
        for attempt in range(5):
            if self.port is None:
                self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent, cwd=self.dir)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self._ready():
                    _log(f"{self.name} ready on {self.host}:{self.port} (pid {self.proc.pid})")
                    return
                time.sleep(0.05)
            exited = self.proc.poll() is not None
            if not exited:
                self._terminate()
                raise RuntimeError(f"{self.name} did not become ready within {timeout}s\n"
                                   + self.log_tail())
            if fixed_port:
                # a restart must keep its port: no second chance on another one
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n"
                                   + self.log_tail())
            self.port = None  # maybe somebody took the port: try another
        raise RuntimeError(f"{self.name} failed to start\n" + self.log_tail())

    def _terminate(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)   # a paused server cannot shut down
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self):
        """Stops the server (SIGTERM, SIGKILL after STOP_TIMEOUT); keeps port and data."""
        self._terminate()
        _log(f"{self.name} stopped")

    def pause(self):
        """Freezes the server (SIGSTOP): connections stay open, nothing answers, the way
        a hung or overloaded server looks to its clients. Returns once every thread of
        the server has stopped: the signal is delivered asynchronously, and a thread
        still running could answer one more query."""
        self.proc.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 30
        while not self._all_threads_stopped():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: not stopped 30 s after SIGSTOP")
            time.sleep(0.005)

    def _all_threads_stopped(self):
        task_dir = f"/proc/{self.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue   # the thread exited
            if state not in ("T", "t"):
                return False
        return True

    def resume(self):
        """Undoes pause() (SIGCONT)."""
        self.proc.send_signal(signal.SIGCONT)

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------
# MariaDB


class _MySQLServer(_Server):
    """A server that speaks the MySQL protocol, as root@127.0.0.1 with an empty password,
    and the small client API the tests use on it (the mariadb command-line client)."""

    user = "root"
    password = ""

    def __init__(self, directory, port=None):
        super().__init__(directory, port)
        self.client = _find("mariadb", "mysql")

    def _ready(self):
        r = subprocess.run(self.client_args() + ["-e", "SELECT 1"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        return r.returncode == 0 and r.stdout.strip() == b"1"

    def client_args(self, database=None, timeout=5):
        """argv prefix for the mariadb client on TCP, batch mode, no column names, comments
        sent to the server (the client strips them by default, TiDB's /*T![...] ... */
        feature comments too, which TiDB executes)."""
        a = [self.client, "--no-defaults", "--protocol=TCP", f"--host={self.host}",
             f"--port={self.port}", f"--user={self.user}", f"--connect-timeout={timeout}",
             "--batch", "--skip-column-names", "--comments"]
        if self.password:
            a.append(f"--password={self.password}")
        if database:
            a.append(f"--database={database}")
        return a

    def query(self, sql, database=None):
        """Runs @sql; returns the rows as lists of strings (None for NULL).
        Raises RuntimeError with the client's message on failure."""
        r = subprocess.run(self.client_args(database), input=sql.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: {r.stderr.decode(errors='replace').strip()}")
        rows = []
        for line in r.stdout.decode().splitlines():
            rows.append([None if c == "NULL" else _unescape(c) for c in line.split("\t")])
        return rows

    def create_database(self, name):
        self.query(f"CREATE DATABASE IF NOT EXISTS `{name}`")

    def dump(self, database):
        """mariadb-dump of @database (schema and data) as text."""
        dump = _find("mariadb-dump", "mysqldump")
        r = subprocess.run([dump, "--no-defaults", "--protocol=TCP", f"--host={self.host}",
                            f"--port={self.port}", f"--user={self.user}",
                            "--skip-extended-insert", "--complete-insert", database],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb-dump: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode(errors="replace")

    def env(self, database=None):
        e = {"PAYMENT_MYSQL_HOST": self.host, "PAYMENT_MYSQL_PORT": str(self.port),
             "PAYMENT_MYSQL_USER": self.user, "PAYMENT_MYSQL_PASSWORD": self.password}
        if database:
            e["PAYMENT_MYSQL_DATABASE"] = database
        return e


class MariaDB(_MySQLServer):
    """A private mariadbd: root@127.0.0.1 with an empty password, over TCP.
    @server_args are extra mariadbd options (such as "--autocommit=0"), after ours."""

    name = "mariadb"

    def __init__(self, directory, port=None, server_args=()):
        super().__init__(directory, port)
        self.server_args = list(server_args)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mariadb.sock")
        self.pidfile = os.path.join(self.dir, "mariadb.pid")
        # Private temporary directory: concurrent installs sharing /tmp collide on the
        # names of their temporary tables.
        self.tmpdir = os.path.join(self.dir, "tmp")

    def _root_args(self):
        return ["--user=root"] if os.geteuid() == 0 else []

    def _prepare(self):
        _kill_stale(self.pidfile, self.datadir)
        os.makedirs(self.tmpdir, exist_ok=True)
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return
        shutil.rmtree(self.datadir, ignore_errors=True)
        cmd = [_find("mariadb-install-db", "mysql_install_db"), "--no-defaults",
               f"--datadir={self.datadir}", f"--tmpdir={self.tmpdir}", "--auth-root-authentication-method=normal",
               "--skip-test-db", "--skip-name-resolve"] + self._root_args()
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n"
                               + r.stdout.decode(errors="replace")[-4000:])

    def _command(self):
        return [_find("mariadbd", "mysqld"), "--no-defaults",
                f"--datadir={self.datadir}", f"--tmpdir={self.tmpdir}", f"--socket={self.socket}",
                f"--pid-file={self.pidfile}", f"--port={self.port}",
                f"--bind-address={self.host}", "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1",
                # The bench raises it (DEVSERVERS_INNODB_BUFFER_POOL=1G): its tables outgrow
                # 64M during a run, and the ceiling's fresh tables would not.
                "--innodb-buffer-pool-size="
                + os.environ.get("DEVSERVERS_INNODB_BUFFER_POOL", "64M"),
                "--max-connections=500",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
                f"--log-error={self.log_path}"] + self._root_args() + self.server_args

    def open_transactions(self, database):
        """How many transactions other sessions have open (InnoDB's list)."""
        return int(self.query("SELECT COUNT(*) FROM information_schema.INNODB_TRX"
                              " WHERE trx_mysql_thread_id <> CONNECTION_ID()", database)[0][0])


class TiDB(_MySQLServer):
    """A private tidb-server: TiDB's SQL layer over unistore, its embedded stand-in for
    TiKV, in one process; root@127.0.0.1 with an empty password, over TCP. @binary is the
    tidb-server that scripts/build-tidb prints. The status port (HTTP) is picked like the
    SQL port and kept across restarts as well."""

    name = "tidb"
    # A fresh store bootstraps TiDB's system tables before it answers: tens of seconds on
    # an idle machine, more on a loaded one.
    START_TIMEOUT = 240.0

    def __init__(self, directory, binary, port=None):
        super().__init__(directory, port)
        self.binary = binary
        self.datadir = os.path.join(self.dir, "data")
        self.pidfile = os.path.join(self.dir, "tidb.pid")
        self.status_port = None

    def start(self, timeout=START_TIMEOUT):
        super().start(timeout)
        # tidb-server writes no pid file: ours lets a later run stop a server left over
        # from a crashed one (_prepare).
        with open(self.pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")

    def _prepare(self):
        _kill_stale(self.pidfile, self.datadir)
        os.makedirs(self.datadir, exist_ok=True)
        if self.status_port is None:
            self.status_port = free_port()

    def _command(self):
        return [self.binary, "-store", "unistore", "-path", self.datadir,
                "-host", self.host, "-P", str(self.port),
                "-status-host", self.host, "-status", str(self.status_port),
                # The log goes to stdout, which _Server sends to tidb.log.
                "-L", "warn"]

    def open_transactions(self, database):
        """How many transactions other sessions using @database have open. TiDB has no
        INNODB_TRX; TIDB_TRX lists this server's transactions, the service's pooled
        sessions among them (their database is @database; the health probe's has none)."""
        return int(self.query("SELECT COUNT(*) FROM information_schema.TIDB_TRX"
                              " WHERE SESSION_ID <> CONNECTION_ID() AND DB = DATABASE()",
                              database)[0][0])


def _unescape(s):
    """Undoes the mariadb client's --batch escaping (\\t \\n \\\\ \\0)."""
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"t": "\t", "n": "\n", "\\": "\\", "0": "\0"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Redis


class Redis(_Server):
    """A private redis-server without persistence."""

    name = "redis"

    def __init__(self, directory, port=None):
        super().__init__(directory, port)
        self.pidfile = os.path.join(self.dir, "redis.pid")

    def _prepare(self):
        _kill_stale(self.pidfile, f":{self.port}" if self.port else "redis-server")

    def _command(self):
        return [_find("redis-server"), "--port", str(self.port), "--bind", self.host,
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--pidfile", self.pidfile, "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", ""]

    def _ready(self):
        try:
            with RedisClient(self.host, self.port, timeout=1.0) as c:
                return c.command("PING") == "PONG"
        except (OSError, RedisError):
            return False

    def client(self, timeout=5.0):
        return RedisClient(self.host, self.port, timeout=timeout)

    def env(self):
        return {"PAYMENT_REDIS_HOST": self.host, "PAYMENT_REDIS_PORT": str(self.port)}


class RedisError(Exception):
    pass


class RedisClient:
    """A minimal blocking RESP2 client: command(*args) returns str, int, None, list, or
    raises RedisError for an error reply."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def command(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RedisError(f"bad reply {line!r}")


# ---------------------------------------------------------------------------------------
# Command line


def _env_lines(mariadb, redis):
    env = {}
    env.update(mariadb.env())
    env.update(redis.env())
    return [f"export {k}={shlex.quote(v)}" for k, v in env.items()]


def cmd_up(args):
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    state_path = os.path.join(directory, "state.json")
    mariadb = MariaDB(os.path.join(directory, "mariadb"))
    redis = Redis(os.path.join(directory, "redis"))
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    # Started in the background by a script (run-local), SIGINT is ignored: Ctrl-C then
    # reaches the service alone, and the servers outlive it until the script stops us.
    if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        signal.signal(signal.SIGINT, on_signal)
    try:
        mariadb.start()
        redis.start()
        lines = _env_lines(mariadb, redis)
        with open(state_path, "w") as f:
            json.dump({"pid": os.getpid(), "mariadb_port": mariadb.port,
                       "redis_port": redis.port}, f)
        if args.env_file:
            with open(args.env_file + ".tmp", "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(args.env_file + ".tmp", args.env_file)
        print("\n".join(lines), flush=True)
        print("# ready", flush=True)
        # Stay up until a signal, or until a server dies on its own.
        while mariadb.is_running() and redis.is_running():
            time.sleep(0.5)
        _log("a server exited on its own; stopping")
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, FileNotFoundError) as e:
        _log(str(e))
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        redis.stop()
        mariadb.stop()
        try:
            os.unlink(state_path)
        except OSError:
            pass
        if args.env_file:
            try:
                os.unlink(args.env_file)
            except OSError:
                pass


def cmd_down(args):
    state_path = os.path.join(os.path.abspath(args.dir), "state.json")
    try:
        with open(state_path) as f:
            pid = json.load(f)["pid"]
    except (OSError, ValueError, KeyError):
        _log(f"nothing running for {args.dir}")
        return 0
    if not _pid_alive(pid):
        os.unlink(state_path)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT * 2 + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        _log(f"devservers pid {pid} did not stop")
        return 1
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start both servers and stay in the foreground")
    up.add_argument("--dir", required=True)
    up.add_argument("--env-file", help="also write the export lines to this file")
    down = sub.add_parser("down", help="stop the servers of a running `up`")
    down.add_argument("--dir", required=True)
    args = p.parse_args(argv)
    return cmd_up(args) if args.cmd == "up" else cmd_down(args)


if __name__ == "__main__":
    sys.exit(main())
