"""Shared plumbing for the interop peer scripts: a JSON job on stdin, a JSON result on stdout,
a clear message on stderr and a non-zero exit on failure. Bytes travel as base64 strings and
a null stays null, so an empty value and a missing one remain distinct."""

import base64
import json
import os
import sys


def fail(message):
    """Report a failure and exit at once (without running librdkafka destructors, which can
    block on a broker that is gone)."""
    sys.stderr.write(f"{os.path.basename(sys.argv[0])}: {message}\n")
    sys.stderr.flush()
    os._exit(1)


def read_job(required):
    try:
        job = json.load(sys.stdin)
    except ValueError as e:
        fail(f"stdin is not a JSON job: {e}")
    if not isinstance(job, dict):
        fail("the job must be a JSON object")
    missing = [k for k in required if k not in job]
    if missing:
        fail(f"job is missing {missing}")
    return job


def reply(result):
    sys.stdout.write(json.dumps(result))
    sys.stdout.write("\n")
    sys.stdout.flush()


def b64d(value, what):
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as e:
        fail(f"{what} is not base64: {e}")


def b64e(value):
    return None if value is None else base64.b64encode(value).decode("ascii")


def client_config(job, base):
    """`base` overlaid with the job's `config` (string values, as librdkafka wants)."""
    config = dict(base)
    for key, value in (job.get("config") or {}).items():
        config[key] = str(value)
    return config
