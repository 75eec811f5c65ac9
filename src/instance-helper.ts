// A small Python program the install script runs on the instance (Python 3 is on every Ubuntu
// image; the standard library is enough). It keeps secrets and user settings out of the shell:
//   read NAME REGION   reads a SecureString parameter with the instance role (IMDSv2 credentials,
//                      SigV4-signed GetParameter at the SSM endpoint of the region's partition:
//                      amazonaws.com, amazonaws.com.cn...) and prints its value to stdout
//   field FILE KEY     prints one top-level string field of a JSON file
//   redact FILE        copies stdin to stdout with the secrets in FILE replaced by ***
//   apply FILE [ADMIN [--whole]]
//                      runs `tljh-config set KEY VALUE` for each setting, as an argument list
//                      (no shell), unsets the keys an earlier run set and this one does not,
//                      then `tljh-config reload [proxy,] hub` under a timeout; --whole (the
//                      settings command, no installer run): the admins and the password too
//   admins FILE        prints the users.admin list of TLJH's config.yaml, one per line
// AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_ENDPOINT_URL_SSM are the AWS SDKs' own variables;
// unset on a real instance, they point at the emulator in the end-to-end suite.
// TLJH_ACTION_OWNED and TLJH_HUB_PYTHON are unset on an instance too: the unit tests point them
// into a scratch directory.
import { SECRET_SETTING_WORDS } from './inputs/secret-settings.ts';

export const INSTANCE_HELPER = String.raw`
import datetime, hashlib, hmac, json, os, re, subprocess, sys, time, urllib.error, urllib.request

# Each partition's DNS suffix, from the AWS SDKs' partition data (botocore's endpoint rules build
# https://ssm.{region}.{dnsSuffix} for every one); any other region is in the aws partition.
PARTITIONS = [
    (r"^cn-\w+-\d+$", "amazonaws.com.cn"),
    (r"^us-iso-\w+-\d+$", "c2s.ic.gov"),
    (r"^us-isob-\w+-\d+$", "sc2s.sgov.gov"),
    (r"^us-isof-\w+-\d+$", "csp.hci.ic.gov"),
    (r"^eu-isoe-\w+-\d+$", "cloud.adc-e.uk"),
    (r"^eusc-de-\w+-\d+$", "amazonaws.eu"),
]
# Settings whose values are secrets (inputs.ts, SECRET_SETTING_WORDS): one list on both sides.
SECRET_WORDS = ${JSON.stringify(SECRET_SETTING_WORDS)}

def imds(path, token=None, method="GET", headers=None):
    base = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254/").rstrip("/")
    h = dict(headers or {})
    if token:
        h["X-aws-ec2-metadata-token"] = token
    req = urllib.request.Request(base + path, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.read().decode()

def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()

def ssm_endpoint(region):
    suffix = next((s for pattern, s in PARTITIONS if re.match(pattern, region)), "amazonaws.com")
    return os.environ.get("AWS_ENDPOINT_URL_SSM") or "https://ssm.%s.%s" % (region, suffix)

def read(name, region):
    token = imds("/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    role = imds("/latest/meta-data/iam/security-credentials/", token).split()[0]
    creds = json.loads(imds("/latest/meta-data/iam/security-credentials/" + role, token))
    endpoint = ssm_endpoint(region)
    host = urllib.request.urlparse(endpoint).netloc
    body = json.dumps({"Name": name, "WithDecryption": True})
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-security-token": creds["Token"],
        "x-amz-target": "AmazonSSM.GetParameter",
    }
    names = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", ""] + ["%s:%s" % (k, headers[k]) for k in sorted(headers)]
                          + ["", names, hashlib.sha256(body.encode()).hexdigest()])
    scope = "%s/%s/ssm/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sign(sign(sign(sign(("AWS4" + creds["SecretAccessKey"]).encode(), day), region), "ssm"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        creds["AccessKeyId"], scope, names, signature)
    answer = post(endpoint.rstrip("/") + "/", body.encode(), headers)
    sys.stdout.write(json.loads(answer.decode())["Parameter"]["Value"])

def post(url, data, headers, timeout=20, attempts=3):
    # An answer that never comes (a dropped connection, an endpoint that stalls) is tried again,
    # as the AWS SDKs retry time-outs; a refusal (4xx) is final. A SigV4 signature stays valid
    # for 15 minutes, far longer than the attempts take.
    for attempt in range(1, attempts + 1):
        try:
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return res.read()
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == attempts:
                raise
            why = "HTTP %d" % e.code
        except (urllib.error.URLError, OSError) as e:
            if attempt == attempts:
                raise
            why = str(getattr(e, "reason", e))
        sys.stderr.write("no answer from %s (%s): trying again (%d of %d)\n" % (url, why, attempt + 1, attempts))
        time.sleep(attempt)

def field(path, key):
    with open(path) as f:
        value = json.load(f).get(key, "")
    sys.stdout.write(value if isinstance(value, str) else "")

def secrets_of(doc):
    found = [doc.get("adminPassword", "")] + [v for k, v in doc.get("settings", [])
                                              if any(w in k.lower() for w in SECRET_WORDS)]
    # Longest first: a secret that contains a shorter one is hidden whole.
    return sorted((s for s in found if s), key=len, reverse=True)

def hide(text, secrets):
    for secret in secrets:
        text = text.replace(secret, "***")
    return text

def redact(path):
    # Hides the admin password and secret settings from output that leaves the instance.
    with open(path) as f:
        secrets = secrets_of(json.load(f))
    for line in sys.stdin:
        sys.stdout.write(hide(line, secrets))

# What the action set on this hub, so a later run unsets only what it set itself (keys set by
# hand with tljh-config were never in it, and stay).
OWNED = os.environ.get("TLJH_ACTION_OWNED", "/opt/tljh/state/tljh-ec2-action.json")

HUB_PYTHON = os.environ.get("TLJH_HUB_PYTHON", "/opt/tljh/hub/bin/python3")
# traefik's certificate store, in TLJH's state directory (tljh/traefik.py, storage = "acme.json").
ACME = os.path.join(os.path.dirname(OWNED), "acme.json")

# TLJH's own way to store an admin password (tljh/installer.py ensure_admins): a bcrypt hash in
# the FirstUseAuthenticator's passwords.dbm, run with the hub environment's Python (bcrypt).
SET_PASSWORD = """
import bcrypt, dbm, os, sys
os.makedirs("/opt/tljh/state", mode=0o700, exist_ok=True)
with dbm.open("/opt/tljh/state/passwords.dbm", "c", 0o600) as db:
    db[sys.argv[1]] = bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt())
"""

def tljh_config(*args):
    return subprocess.run(["tljh-config", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

def fail(doc, message, stderr=b"", code=12):
    # tljh-config may quote the value it rejected: hide secrets before the cut.
    detail = hide(stderr.decode(errors="replace"), secrets_of(doc))[-300:].strip()
    print("::tljh:: error=%s%s" % (message, ": " + detail if detail else ""))
    sys.exit(code)

def load_owned():
    try:
        with open(OWNED) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def save_owned(owned):
    os.makedirs(os.path.dirname(OWNED), mode=0o700, exist_ok=True)
    with open(OWNED + ".new", "w") as f:
        json.dump(owned, f)
    os.replace(OWNED + ".new", OWNED)

def apply(path, admin="", whole=False):
    # After the installer (whole=False), which set the admins and the password itself; as the
    # settings command (whole=True), admins and password too, and the hub is always reloaded.
    with open(path) as f:
        doc = json.load(f)
    settings, items = doc.get("settings", []), [list(i) for i in doc.get("items", [])]
    admins = [admin] if admin else []
    owned = load_owned()
    keys = [k for k, _ in settings]
    # Recorded before anything changes (what was set and what is about to be), so a run that
    # fails half-way still knows every key it may have set; the exact set is written at the end.
    save_owned({
        "keys": sorted(set(owned.get("keys", [])) | set(keys)),
        "items": owned.get("items", []) + [i for i in items if i not in owned.get("items", [])],
        "admins": sorted(set(owned.get("admins", [])) | set(admins)),
    })
    touched = list(keys) + [k for k, _ in items]
    # traefik keeps the certificates of acme.json and issues none for a name it has one for,
    # whatever its CA: with another CA (https-staging) or other names, they go, and the proxy
    # reload below has traefik ask Let's Encrypt afresh (TLJH recreates the file empty).
    def ca_and_names(ks, its):
        return ("https.letsencrypt.staging" in ks,
                sorted(v for k, v in its if k == "https.letsencrypt.domains"))
    renew = ca_and_names(owned.get("keys", []), owned.get("items", [])) != ca_and_names(keys, items)
    for key in owned.get("keys", []):
        if key not in keys:
            # Set by an earlier run, no longer asked for. Already gone: nothing to do.
            print("::tljh:: unset=%s" % key)
            tljh_config("unset", key)
            touched.append(key)
    for key, value in settings:
        print("::tljh:: setting=%s" % key)
        done = tljh_config("set", key, "--", value)
        if done.returncode != 0:
            fail(doc, "tljh-config set %s failed" % key, done.stderr)
    for key, value in owned.get("items", []):
        if [key, value] not in items:
            tljh_config("remove-item", key, "--", value)
            touched.append(key)
    for key, value in items:
        # remove-item first, so a re-run does not add the same list entry twice.
        tljh_config("remove-item", key, "--", value)
        if tljh_config("add-item", key, "--", value).returncode != 0:
            fail(doc, "tljh-config add-item %s failed" % key)
    for name in owned.get("admins", []):
        # An admin an earlier run set and this one no longer asks for (the installer's run kept
        # every admin of the hub, so it is removed here too).
        if name not in admins:
            print("::tljh:: admin-removed=%s" % name)
            tljh_config("remove-item", "users.admin", "--", name)
            touched.append("users.admin")
    if whole:
        for name in admins:
            tljh_config("remove-item", "users.admin", "--", name)
            if tljh_config("add-item", "users.admin", "--", name).returncode != 0:
                fail(doc, "tljh-config add-item users.admin failed")
        if doc.get("adminPassword") and admin:
            try:
                done = subprocess.run([HUB_PYTHON, "-c", SET_PASSWORD, admin],
                                      input=doc["adminPassword"].encode(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
            except OSError as e:
                fail(doc, "setting the admin password failed (the hub environment's Python: %s)" % e.strerror)
            if done.returncode != 0:
                fail(doc, "setting the admin password failed", done.stderr)
            print("::tljh:: admin-password=set")
    save_owned({"keys": keys, "items": items, "admins": admins})
    if whole or touched:
        # TLJH's order: with the proxy's settings changed (https.*, and the http.* and
        # traefik_api.* that traefik.toml reads), the proxy first (traefik only gets the https
        # entrypoint the hub moves to on a proxy reload), then the hub.
        if any(k.startswith(("https.", "http.", "traefik_api.")) for k in touched):
            if renew and os.path.exists(ACME):
                os.remove(ACME)
                print("::tljh:: acme-reset=1")
            if subprocess.run(["timeout", "180", "tljh-config", "reload", "proxy"], stdout=subprocess.DEVNULL).returncode != 0:
                print("::tljh:: error=tljh-config reload proxy failed")
                sys.exit(14)
        done = subprocess.run(["timeout", "180", "tljh-config", "reload", "hub"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            print("::tljh:: error=tljh-config reload hub failed (exit %d)" % done.returncode)
            sys.exit(13)

def admins(path):
    # Runs under the hub environment's Python, which has TLJH's YAML library.
    from ruamel.yaml import YAML
    with open(path) as f:
        config = YAML(typ="safe").load(f) or {}
    for name in (config.get("users") or {}).get("admin") or []:
        print(name)

command = sys.argv[1]
if command == "read":
    read(sys.argv[2], sys.argv[3])
elif command == "field":
    field(sys.argv[2], sys.argv[3])
elif command == "redact":
    redact(sys.argv[2])
elif command == "apply":
    apply(sys.argv[2], admin=sys.argv[3] if len(sys.argv) > 3 else "", whole=sys.argv[4:5] == ["--whole"])
elif command == "admins":
    admins(sys.argv[2])
else:
    sys.exit("unknown command " + command)
`;
