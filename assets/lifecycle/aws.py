#!/usr/bin/env python3
# nbsynth's AWS calls from the instance, shared by idle.py and codeartifact.py (the build puts this
# text before each of them): standard library only (3.7+), run as root with the system python3, so no
# SDK or CLI from the ec2-user owned conda environment ever runs as root. Imports are for both programs.
import datetime as dt, glob, hashlib, hmac, json, os, re, ssl, sys, syslog, urllib.error, urllib.parse
import urllib.request as ur

E = os.environ.get
UTC = dt.timezone.utc


def fetch(req, ctx=None):
    with ur.urlopen(req, timeout=20, context=ctx) as r:
        return r.read().decode()


# The instance role's credentials through IMDSv2; AWS_* variables take precedence (tests).
def credentials():
    if E("AWS_ACCESS_KEY_ID"):
        return E("AWS_ACCESS_KEY_ID"), E("AWS_SECRET_ACCESS_KEY"), E("AWS_SESSION_TOKEN")
    base = E("NBSYNTH_IMDS_URL", "http://169.254.169.254") + "/latest/"
    tok = fetch(ur.Request(base + "api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}))
    get = lambda p: fetch(ur.Request(base + "meta-data/iam/security-credentials/" + p,
                                     headers={"X-aws-ec2-metadata-token": tok}))
    c = json.loads(get(get("").split()[0]))
    return c["AccessKeyId"], c["SecretAccessKey"], c["Token"]


# One call to the regional endpoint HOST (the name its interface endpoint's private DNS answers;
# AWS_ENDPOINT_URL overrides it in tests), signed with SigV4 by hand: the answer's JSON, or OSError.
def call(method, service, region, path, params={}, body=b"", headers={}, host=None):
    url = (E("AWS_ENDPOINT_URL") or "https://%s.%s.amazonaws.com%s" % (
        host or service, region, ".cn" if region[:3] == "cn-" else "")) + path
    # The canonical query: keys sorted, values quoted.
    url += "?" + urllib.parse.urlencode(sorted(params.items()), quote_via=urllib.parse.quote) if params else ""
    u = urllib.parse.urlsplit(url)
    creds = credentials()
    amz = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    h = dict(headers, host=u.netloc, **{"x-amz-date": amz})
    if creds[2]:
        h["x-amz-security-token"] = creds[2]
    names = ";".join(sorted(h))
    sha = lambda b: hashlib.sha256(b).hexdigest()
    req = "\n".join([method, u.path, u.query, "".join(k + ":" + h[k] + "\n" for k in sorted(h)), names, sha(body)])
    scope = amz[:8] + "/" + region + "/" + service + "/aws4_request"
    key = ("AWS4" + creds[1]).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, ("AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz, scope, sha(req.encode()))).encode(), hashlib.sha256)
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        creds[0], scope, names, sig.hexdigest())
    try:
        return json.loads(fetch(ur.Request(url, data=body or None, headers=h, method=method)) or "{}")
    except urllib.error.HTTPError as e:
        raise OSError("%s answered %d %s" % (u.netloc, e.code, e.read()[:300]))
