#!/bin/bash
# nbsynth on_start script for a SageMaker notebook instance (runs as root).
set -euo pipefail
umask 022
log() { echo "nbsynth: $*"; }
changed=0
put() {
  local t
  t=$(mktemp)
  cat >"$t"
  if [ -f "$1" ] && [ ! -L "$1" ] && cmp -s "$t" "$1" && [ "$(stat -c %a "$1")" = "$2" ]; then
    rm -f "$t"
    return
  fi
  mkdir -p "$(dirname "$1")"
  install -m "$2" "$t" "$1"
  rm -f "$t"
  changed=$((changed + 1))
  log "wrote $1"
}
R=${NBSYNTH_ROOT:-}
H=$R/home/ec2-user

log "download block"
J=$R/etc/nbsynth/jupyter
B=$R/etc/nbsynth/jupyter-base
E=$H/anaconda3/envs/JupyterSystemEnv
before=$changed
if [ -d "$H/.jupyter" ]; then
  while IFS= read -r -d '' f; do
    put "$B/${f#"$H/.jupyter/"}" 644 <"$f"
  done < <(find "$H/.jupyter" \( -path "$H/.jupyter/lab" -o -name migrated \) -prune -o -type f -print0)
else
  log "no $H/.jupyter: no platform config to copy"
fi
put "$B/migrated" 644 </dev/null
put "$J/jupyter_server_config.py" 644 <<'NBSYNTH_EOF'
# nbsynth download block. Root-owned and first on JUPYTER_CONFIG_PATH, so it is loaded last and wins.
from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.contents.manager import ContentsManager
from tornado import web
class NbsynthNoFiles(JupyterHandler):
 def get(self, path, include_body=True):
  raise web.HTTPError(403, "downloads are disabled on this notebook instance")
 head = get
class NbsynthAuthorizer(AllowAllAuthorizer):
 def is_authorized(self, handler, user, action, resource):
  path = handler.request.path[len(handler.base_url):]
  return resource != "nbconvert" and not path.startswith("files/")
ContentsManager.get_extra_handlers = lambda self: [(r"/files/(.*)", NbsynthNoFiles)]
c.ServerApp.authorizer_class = NbsynthAuthorizer
NBSYNTH_EOF
P='"@jupyterlab/docmanager-extension:download":true,"@jupyterlab/docmanager-extension:open-browser-tab":true,"@jupyterlab/filebrowser-extension:download":true,"@jupyterlab/filebrowser-extension:open-browser-tab":true,"@jupyterlab/notebook-extension:export":true'
put "$J/labconfig/page_config.json" 644 <<EOF
{"disabledExtensions":{$P},"lockedExtensions":{$P}}
EOF
put "$R/etc/systemd/system/jupyter-server.service.d/nbsynth.conf" 644 <<EOF
[Service]
Environment=JUPYTER_CONFIG_PATH=$J
Environment=JUPYTER_CONFIG_DIR=$B
Environment=JUPYTER_PREFER_ENV_PATH=0
Environment=PYTHONNOUSERSITE=1
Environment=JUPYTERLAB_SETTINGS_DIR=$H/.jupyter/lab/user-settings
Environment=JUPYTERLAB_WORKSPACES_DIR=$H/.jupyter/lab/workspaces
EOF
p=$R/etc/profile.d/jupyter-env.sh
put "$p" 644 < <(
  if [ -f "$p" ]; then grep -v '# nbsynth$' "$p" || true; fi
  sed -n 's/^Environment=\(.*\)/export \1 # nbsynth/p' "$R/etc/systemd/system/jupyter-server.service.d/nbsynth.conf"
)
chmod 755 "$R/etc/nbsynth" "$J" "$J/labconfig" "$B"
if [ -d "$E" ]; then
  if [ -n "$(find "$E" \( ! -user root -o -perm /022 ! -type l \) -print -quit)" ]; then
    chown -R root:root "$E"
    chmod -R go-w "$E"
    changed=$((changed + 1))
    log "made $E root-owned"
  fi
  for d in "$H/anaconda3" "$H/anaconda3/envs" "$E"; do
    mountpoint -q "$d" && continue
    if mount --bind "$d" "$d"; then
      changed=$((changed + 1))
      log "pinned $d"
    else
      log "WARNING: could not pin $d"
    fi
  done
else
  log "skipped: no $E, the server's environment is as the platform left it"
fi
[ "$changed" = "$before" ] || restart=1

log "root access off: removing ec2-user's passwordless sudo"
for f in "$R/etc/sudoers" "$R"/etc/sudoers.d/*; do
  [ -f "$f" ] || continue
  grep -Eq '^[[:space:]]*ec2-user[[:space:]].*NOPASSWD' "$f" || continue
  t=$(mktemp)
  sed -E '/^[[:space:]]*ec2-user[[:space:]].*NOPASSWD/d' "$f" >"$t"
  chmod 440 "$t"
  visudo -cqf "$t" || { log "edited $f would not parse; left unchanged"; exit 1; }
  install -m 440 "$t" "$f"
  rm -f "$t"
  changed=$((changed + 1))
  log "removed passwordless sudo for ec2-user from $f"
done
visudo -cqf "$R/etc/sudoers" || { log "sudoers does not parse"; exit 1; }

before=$changed
log "idle shutdown: stop after 60 idle minutes"
put "$R/opt/nbsynth/idle.py" 755 <<'NBSYNTH_EOF'
#!/usr/bin/env python3
import datetime as dt, glob, hashlib, hmac, json, os, re, ssl, sys, syslog, urllib.error, urllib.parse
import urllib.request as ur
E = os.environ.get
UTC = dt.timezone.utc
def fetch(req, ctx=None):
 with ur.urlopen(req, timeout=20, context=ctx) as r:
  return r.read().decode()
def credentials():
 if E("AWS_ACCESS_KEY_ID"):
  return E("AWS_ACCESS_KEY_ID"), E("AWS_SECRET_ACCESS_KEY"), E("AWS_SESSION_TOKEN")
 base = E("NBSYNTH_IMDS_URL", "http://169.254.169.254") + "/latest/"
 tok = fetch(ur.Request(base + "api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}))
 get = lambda p: fetch(ur.Request(base + "meta-data/iam/security-credentials/" + p,
         headers={"X-aws-ec2-metadata-token": tok}))
 c = json.loads(get(get("").split()[0]))
 return c["AccessKeyId"], c["SecretAccessKey"], c["Token"]
def call(method, service, region, path, params={}, body=b"", headers={}, host=None):
 url = (E("AWS_ENDPOINT_URL") or "https://%s.%s.amazonaws.com%s" % (
  host or service, region, ".cn" if region[:3] == "cn-" else "")) + path
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
def log(msg):
 print(dt.datetime.now(UTC).isoformat(timespec="seconds"), msg, flush=True)
 syslog.syslog(msg)
def when(s):
 m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|\+00:00)?$", s)
 if not m:
  raise ValueError("not a UTC time: %r" % s)
 return dt.datetime(*map(int, m.groups()[:6]), tzinfo=UTC) + dt.timedelta(seconds=float(m.group(7) or 0))
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
  ctx = ssl._create_unverified_context()
 headers = {"Authorization": "token " + token} if token else {}
 return lambda path: json.loads(fetch(ur.Request(base + path, headers=headers), ctx))
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
 seen = [(when(status["started"]), "server start")]
 seen += [(when(k["last_activity"]), "kernel %s (%s)" % (k["id"], k["execution_state"])) for k in kernels]
 seen += [(when(t["last_activity"]), "terminal " + t["name"]) for t in terminals]
 if not ignore_connections:
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
NBSYNTH_EOF
put "$R/etc/systemd/system/nbsynth-idle.service" 644 <<'EOF'
[Unit]
Description=nbsynth idle check
[Service]
Type=oneshot
ExecStart=/usr/bin/python3 -I -S /opt/nbsynth/idle.py 60
EOF
put "$R/etc/systemd/system/nbsynth-idle.timer" 644 <<'EOF'
[Unit]
Description=nbsynth idle check every 5 minutes
[Timer]
OnActiveSec=5min
OnUnitActiveSec=5min
[Install]
WantedBy=timers.target
EOF
[ "$changed" = "$before" ] || timer=1

log "packages: private index only"
put "$R/etc/pip.conf" 644 <<'EOF'
[global]
index-url = https://nexus.platform.example.com/repository/pypi/simple
EOF
if [ -e "$H/anaconda3/bin/conda" ] || [ -e "$R/opt/conda/bin/conda" ]; then
  put "$R/etc/conda/.condarc" 644 <<'EOF'
channels: [] #!final
default_channels: [] #!final
EOF
fi

put "$H/.nbsynth/env" 644 <<'EOF'
NBSYNTH_STACK=shared-vpc
AWS_DEFAULT_REGION=${AWS::Region}
NBSYNTH_VPC_ID=vpc-0123456789abcdef0
NBSYNTH_SUBNET_IDS=subnet-0123456789abcdef0,subnet-0fedcba9876543210
NBSYNTH_SECURITY_GROUP_ID=${NotebookSecurityGroup.GroupId}
NBSYNTH_KMS_KEY_ARN=${NotebookKey.Arn}
NBSYNTH_BUCKETS=platform-shared-data
EOF
chown -h ec2-user:ec2-user "$H/.nbsynth" "$H/.nbsynth/env"

if [ "${restart:-0}${timer:-0}" != 00 ]; then
  systemctl daemon-reload
fi
if [ "${timer:-0}" = 1 ]; then
  systemctl enable --now nbsynth-idle.timer
fi
if [ "${restart:-0}" = 1 ]; then
  log "restarting Jupyter for the new config"
  systemctl --no-block restart jupyter-server.service ||
    log "WARNING: jupyter-server.service did not restart; the block applies from its next start"
fi
log "done (changed=$changed)"
