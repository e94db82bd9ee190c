"""Certificates for the HTTPS tests, made with the openssl command at test time: a
self-signed CA and, signed by it for 127.0.0.1 and localhost, a server certificate valid
now, one that expired in 2020, and a private key that is not the certificate's. Also a
client that offers TLS 1.1 only."""

import os
import ssl
import subprocess
import warnings

from .rpc import connect

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

# `openssl ca` is the openssl 3.0 command that takes a start date in the past (x509 -req
# has only -days, counted from now).
CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[any_name]
commonName = supplied
"""

SERVER_EXTENSIONS = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"


class Certificates:
    """Paths: ca, cert, key (the server's), expired_cert (same key), other_key."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = self._path("ca.crt")
        self.ca_key = self._path("ca.key")
        self.cert = self._path("server.crt")
        self.key = self._path("server.key")
        self.expired_cert = self._path("expired.crt")
        self.other_key = self._path("other.key")

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, cwd=self.dir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def make(self):
        os.makedirs(self.dir, exist_ok=True)
        csr = self._path("server.csr")
        ext = self._path("server.ext")
        with open(ext, "w") as f:
            f.write(SERVER_EXTENSIONS)
        self._openssl("req", "-x509", *EC, "-keyout", self.ca_key, "-out", self.ca,
                      "-subj", "/CN=payment test CA", "-days", "2")
        self._openssl("req", *EC, "-keyout", self.key, "-out", csr, "-subj", "/CN=localhost",
                      "-addext", SERVER_EXTENSIONS.strip())
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                      "-CAcreateserial", "-out", self.cert, "-days", "2", "-extfile", ext)
        self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-out", self.other_key)
        config = self._path("ca.cnf")
        with open(config, "w") as f:
            f.write(CA_CONFIG.format(dir=self.dir))
        open(self._path("index.txt"), "w").close()
        with open(self._path("serial"), "w") as f:
            f.write("1000\n")
        self._openssl("ca", "-batch", "-config", config, "-cert", self.ca, "-keyfile",
                      self.ca_key, "-in", csr, "-out", self.expired_cert, "-notext",
                      "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")
        return self

    def service_env(self, cert=None, key=None):
        """PAYMENT_HTTP_TLS_* for a service serving @cert and @key (default: the good pair)."""
        return {"PAYMENT_HTTP_TLS_CERT_FILE": cert or self.cert,
                "PAYMENT_HTTP_TLS_KEY_FILE": key or self.key}


def tls11_context():
    """A client that offers TLS 1.1 only. OpenSSL 3 allows it at security level 0."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


def tls11_outcome(port, timeout=10.0):
    """"refused" if the handshake fails, "closed" if it completes but the service closes
    without answering, else the version negotiated and the first bytes of the answer."""
    with connect(port) as sock:
        try:
            tls = tls11_context().wrap_socket(sock)
        except (ssl.SSLError, OSError):
            return "refused"
        with tls:
            version = tls.version()
            try:
                tls.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                tls.settimeout(timeout)
                answer = tls.recv(16)
            except (ssl.SSLError, OSError):
                answer = b""
            return "closed" if not answer else (version, answer)
