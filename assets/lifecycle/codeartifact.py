#!/usr/bin/env python3
# nbsynth CodeArtifact token, run as root by nbsynth-codeartifact.service (at start and every 5 minutes):
# writes /etc/pip.conf with the repository's index URL and a fresh token once the current one has less
# than REFRESH_BELOW seconds left. Standard library only (3.7+).
# Usage: codeartifact.py DOMAIN OWNER REPOSITORY
# On any error the old pip.conf stays as it is, the error is logged, and the exit code is 1.
# call, E, UTC and the other imports come from aws.py, which the build puts before this text.
import tempfile, time

DURATION = 21600  # the token lives 6 h (CodeArtifact allows up to 12 h; the role allows at most this)
REFRESH_BELOW = 10800  # replaced once less than 3 h remain: 36 timer runs to succeed before it expires


def log(msg):
    print(dt.datetime.now(UTC).isoformat(timespec="seconds"), msg, flush=True)
    syslog.syslog(msg)


# The token's expiry, kept root-only beside pip.conf's writer (the token itself is only in pip.conf).
def expiry(state):
    try:
        with open(state) as fh:
            return float(json.load(fh)["expiration"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


# Writes TEXT to PATH in one rename: pip never reads half a file, a failure leaves the old one.
def replace(path, text, mode):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".nbsynth-")
    try:
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(args):
    syslog.openlog("nbsynth-codeartifact")
    root = E("NBSYNTH_ROOT", "")
    conf, state = root + "/etc/pip.conf", root + "/var/lib/nbsynth/codeartifact.json"
    step = "reading the instance metadata"
    try:
        domain, owner, repository = args
        left = expiry(state) - time.time()
        if left > REFRESH_BELOW and os.path.exists(conf):
            log("token still valid for %.0f min; pip.conf kept" % (left / 60))
            return 0
        with open(E("NBSYNTH_METADATA", "/opt/ml/metadata/resource-metadata.json")) as fh:
            region = E("AWS_REGION") or json.load(fh)["ResourceArn"].split(":")[3]
        who = {"domain": domain, "domain-owner": owner}
        step = "asking for the repository endpoint"
        url = call("GET", "codeartifact", region, "/v1/repository/endpoint",
                   dict(who, repository=repository, format="pypi"))["repositoryEndpoint"]
        step = "asking for a token"
        answer = call("POST", "codeartifact", region, "/v1/authorization-token", dict(who, duration=DURATION))
        token, expires = answer["authorizationToken"], float(answer["expiration"])
        u = urllib.parse.urlsplit(url)
        index = "%s://aws:%s@%s%s/simple/" % (u.scheme, urllib.parse.quote(token, safe=""), u.netloc,
                                              u.path.rstrip("/"))
        step = "writing " + conf
        # Readable by ec2-user's pip, writable by root only: the user cannot point pip elsewhere.
        replace(conf, "[global]\nindex-url = %s\n" % index, 0o644)
        replace(state, json.dumps({"expiration": expires}) + "\n", 0o600)
    except Exception as e:  # whatever failed, the old pip.conf stays
        log("token not refreshed: error %s: %s" % (step, str(e) or type(e).__name__))
        return 1
    log("pip.conf written for %s/%s; the token expires at %s" % (
        domain, repository, dt.datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
