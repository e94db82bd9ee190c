"""The SQL servers the storage suites run against, and the tests that cannot apply to
one of them, each with the reason. conftest.py deselects these on that backend (never a
silent skip: pytest counts them as deselected and prints each reason at the end) and fails
the run if an entry names a test that no longer exists.

Keys are "file::test" without parameters: a listed test is deselected in every
parametrization."""

DESELECTED = {
    "mariadb": {},
    "tidb": {
    },
}


def key(nodeid):
    """"dir/test_x.py::test_y[param]" -> "test_x.py::test_y"."""
    path, _, name = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + "::" + name.split("[", 1)[0]
