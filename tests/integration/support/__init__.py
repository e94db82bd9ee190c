"""Helpers shared by the integration suites: paths and environment (env), the private
MariaDB/Redis servers (scripts/devservers.py), Python Thrift code generated from the IDL
(thriftgen), the service process (service), RPC and raw-socket clients (rpc), the HTTP
client (http), and request builders with valid and invalid cards (data)."""
