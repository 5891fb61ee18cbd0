"""Certificate decoding shared by the mock client (name checks) and the SAZ writer (Fiddler's
certificate text): one place, so neither script imports the other."""

import os
import ssl
import tempfile


def decode_cert(der):
    """The fields of a DER certificate as Python's ssl module reports them."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
        name = f.name
    try:
        return ssl._ssl._test_decode_cert(name)
    finally:
        os.unlink(name)
