#!/usr/bin/env python3
"""Verifies an MSK IAM authentication token the way MSK does, independently of kreplicate.

The token is a base64url (no padding) SigV4-presigned URL
https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-...&User-Agent=...
The signature is recomputed with botocore's SigV4QueryAuth from the secret key of the access
key id in the token, and the action, host, credential scope, date and expiry are checked.

stdin:  {"token": "...", "region": "us-east-1", "keys": {"AKID": "secret"}, "now": <epoch s>}
stdout: {"ok": true, "access_key_id": "AKID", "expires_at": <epoch s>}
     or {"ok": false, "reason": "..."}

With {"sign": {"region", "access_key_id", "secret_access_key", "action", "expires", "time"}}
on stdin it prints {"token": "..."} instead: a token built as aws-msk-iam-sasl-signer-python
builds it (botocore SigV4QueryAuth, then User-Agent appended), at a chosen time and with a
chosen action, so tests can present expired or wrong-action tokens.
"""

import base64
import datetime
import hmac
import json
import sys
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACTION = "kafka-cluster:Connect"
SERVICE = "kafka-cluster"
# MSK accepts a signing time this far in the future (clock skew), as SigV4 services do.
MAX_SKEW_SECONDS = 300
# The signed query parameters a token carries, besides Action.
AUTH_PARAMS = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
}


class Refused(Exception):
    pass


def verify(job):
    token = job["token"]
    region = job["region"]
    keys = job["keys"]
    now = int(job["now"])
    try:
        url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except Exception as e:  # noqa: BLE001 - any decoding failure is a malformed token
        raise Refused(f"invalid payload: not base64url UTF-8 ({e})")
    parts = urlsplit(url)
    host = f"kafka.{region}.amazonaws.com"
    if parts.scheme != "https" or parts.netloc != host or parts.path != "/":
        raise Refused(f"wrong host: the token is for {parts.scheme}://{parts.netloc}{parts.path}, not https://{host}/")
    pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        raise Refused("invalid payload: a query parameter is repeated")
    missing = sorted((AUTH_PARAMS | {"Action"}) - params.keys())
    if missing:
        raise Refused(f"invalid payload: missing {', '.join(missing)}")
    if params["Action"] != ACTION:
        raise Refused(f"wrong action {params['Action']!r}, expected {ACTION!r}")
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise Refused(f"wrong algorithm {params['X-Amz-Algorithm']!r}")
    scope = params["X-Amz-Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise Refused(f"invalid credential scope {params['X-Amz-Credential']!r}")
    access_key_id, scope_date, scope_region, scope_service, _ = scope
    if scope_region != region or scope_service != SERVICE:
        raise Refused(f"wrong credential scope {scope_region}/{scope_service}, expected {region}/{SERVICE}")
    amz_date = params["X-Amz-Date"]
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Refused(f"invalid X-Amz-Date {amz_date!r}")
    if scope_date != amz_date[:8]:
        raise Refused(f"credential scope date {scope_date} is not the signing date {amz_date[:8]}")
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise Refused(f"invalid X-Amz-Expires {params['X-Amz-Expires']!r}")
    signed_epoch = int(signed_at.timestamp())
    if signed_epoch > now + MAX_SKEW_SECONDS:
        raise Refused(f"signed in the future ({amz_date})")
    if now >= signed_epoch + expires:
        raise Refused(f"token expired at {signed_epoch + expires} (now {now})")
    if params["X-Amz-SignedHeaders"] != "host":
        raise Refused(f"signed headers {params['X-Amz-SignedHeaders']!r}, expected 'host'")
    if access_key_id not in keys:
        raise Refused(f"unknown access key {access_key_id}")
    # The verifier does not know which session tokens STS issued: it takes the token's own
    # and checks that it is signed, as part of the query, like every other parameter.

    credentials = Credentials(access_key_id, keys[access_key_id], params.get("X-Amz-Security-Token"))
    auth = SigV4QueryAuth(credentials, SERVICE, region, expires=expires)
    request = AWSRequest(method="GET", url=f"https://{host}/", params={"Action": ACTION})
    request.context["timestamp"] = amz_date
    auth._modify_request_before_signing(request)
    # Every signed parameter of the token must be one botocore signs too (User-Agent is
    # appended after signing, as the signer libraries do).
    expected = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    extra = sorted(set(params) - set(expected) - {"X-Amz-Signature", "User-Agent"})
    if extra:
        raise Refused(f"unexpected parameters {', '.join(extra)}")
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    signature = auth.signature(string_to_sign, request)
    if not hmac.compare_digest(signature, params["X-Amz-Signature"]):
        raise Refused("signature mismatch")
    return {"ok": True, "access_key_id": access_key_id, "expires_at": signed_epoch + expires}


def sign(job):
    region = job["region"]
    credentials = Credentials(job["access_key_id"], job["secret_access_key"], job.get("session_token"))
    auth = SigV4QueryAuth(credentials, SERVICE, region, expires=int(job["expires"]))
    request = AWSRequest(method="GET", url=f"https://kafka.{region}.amazonaws.com/", params={"Action": job["action"]})
    signed_at = datetime.datetime.fromtimestamp(int(job["time"]), datetime.timezone.utc)
    request.context["timestamp"] = signed_at.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    url = request.url + "&User-Agent=aws-msk-iam-sasl-signer-python%2Ftest"
    token = base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8").rstrip("=")
    return {"token": token}


def main():
    job = json.load(sys.stdin)
    if "sign" in job:
        json.dump(sign(job["sign"]), sys.stdout)
        sys.stdout.write("\n")
        return
    try:
        result = verify(job)
    except Refused as e:
        result = {"ok": False, "reason": str(e)}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
