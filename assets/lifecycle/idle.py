#!/usr/bin/env python3
# nbsynth idle check, run by a systemd timer as root with the system python3 (standard library only, 3.7+):
# stops this notebook instance when Jupyter shows no busy kernel and no activity within the limit.
# Usage: idle.py MINUTES [--ignore-connections]   (MINUTES may be a fraction, for tests)
# Any error (metadata, Jupyter, credentials, SageMaker API) is logged and exits 1 without stopping.
# The imports, fetch, call, E and UTC come from aws.py, which the build puts before this text.


def log(msg):
    print(dt.datetime.now(UTC).isoformat(timespec="seconds"), msg, flush=True)
    syslog.syslog(msg)


# Jupyter writes UTC ISO 8601 with or without a fraction; autostop.py's %f parse fails on the latter
# and it compares that naive string with local time.
def when(s):
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|\+00:00)?$", s)
    if not m:
        raise ValueError("not a UTC time: %r" % s)
    return dt.datetime(*map(int, m.groups()[:6]), tzinfo=UTC) + dt.timedelta(seconds=float(m.group(7) or 0))


# The local server: NBSYNTH_JUPYTER_URL/_TOKEN override; else the token from the server's runtime file
# (what `jupyter server list` reads), none if no file matches the port.
def jupyter():
    base = E("NBSYNTH_JUPYTER_URL", "https://localhost:8443").rstrip("/") + "/"
    u = urllib.parse.urlsplit(base)
    token = E("NBSYNTH_JUPYTER_TOKEN")
    rt = E("NBSYNTH_JUPYTER_RUNTIME", "/home/ec2-user/.local/share/jupyter/runtime")
    for f in glob.glob(rt + "/jpserver-*.json") if token is None else []:
        with open(f) as fh:
            info = json.load(fh)
        if info.get("port") == u.port:
            token = info.get("token")
    ctx = None
    if u.scheme == "https" and u.hostname in ("localhost", "127.0.0.1", "::1"):
        # The platform's certificate is self-signed; only the loopback server is exempt from checks.
        ctx = ssl._create_unverified_context()
    headers = {"Authorization": "token " + token} if token else {}
    return lambda path: json.loads(fetch(ur.Request(base + path, headers=headers), ctx))


# (idle?, reason). The kernel and terminal lists are polled with no_track_activity, /api/status never counts.
def decide(api, limit, ignore_connections, now):
    status = api("api/status")
    kernels = api("api/kernels?no_track_activity=1")
    try:
        terminals = api("api/terminals?no_track_activity=1")
    except urllib.error.HTTPError as e:
        if e.code != 404:  # 404: terminals disabled
            raise
        terminals = []
    busy = [k["id"] for k in kernels if k["execution_state"] == "busy"]
    if busy:
        return False, "kernel busy: " + " ".join(busy)
    if not ignore_connections and status["connections"]:
        return False, "%d open kernel connection(s)" % status["connections"]
    # A kernel stuck "starting" counts by its last activity, so it cannot hold the instance up forever.
    seen = [(when(status["started"]), "server start")]
    seen += [(when(k["last_activity"]), "kernel %s (%s)" % (k["id"], k["execution_state"])) for k in kernels]
    seen += [(when(t["last_activity"]), "terminal " + t["name"]) for t in terminals]
    if not ignore_connections:
        # Server-wide API use, which an open browser tab keeps up.
        seen.append((when(status["last_activity"]), "API request"))
    last, what = max(seen)
    quiet = (now - last).total_seconds()
    return quiet >= limit, "last activity %.0fs ago: %s (limit %.0fs; %d kernels, %d terminals)" % (
        quiet, what, limit, len(kernels), len(terminals))


def main(args):
    syslog.openlog("nbsynth-idle")
    step = "reading the instance metadata"
    try:
        limit = float(args[0]) * 60
        with open(E("NBSYNTH_METADATA", "/opt/ml/metadata/resource-metadata.json")) as fh:
            meta = json.load(fh)
        name = meta["ResourceName"]
        region = E("AWS_REGION") or meta["ResourceArn"].split(":")[3]
        step = "asking Jupyter"
        idle, why = decide(jupyter(), limit, "--ignore-connections" in args, dt.datetime.now(UTC))
        if not idle:
            log("active, keeping %s: %s" % (name, why))
            return 0
        log("idle, stopping %s: %s" % (name, why))
        step = "stopping " + name
        call("POST", "sagemaker", region, "/", body=json.dumps({"NotebookInstanceName": name}).encode(), host="api.sagemaker",
             headers={"content-type": "application/x-amz-json-1.1", "x-amz-target": "SageMaker.StopNotebookInstance"})
    except Exception as e:  # whatever failed, the instance is not stopped
        log("not stopped: error %s: %s" % (step, str(e) or type(e).__name__))
        return 1
    log("stop of %s requested" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
