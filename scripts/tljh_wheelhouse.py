#!/usr/bin/env python3
"""Builds the offline wheelhouse from which the e2e emulator installs TLJH's own code (issue 8).

It holds everything pip needs, with PIP_NO_INDEX=1 and PIP_FIND_LINKS=<wheelhouse>, to do what TLJH's
bootstrap.py and installer do on a fresh host: the hub venv (pip, TLJH built from git, its requirements and
requirements-hub-env.txt), the user environment (jupyterhub, requirements-user-env-extras.txt) and the
emulator's test plugins. Sources, in this order of preference:
  1. this machine's local pip indexes (pip download with the machine's own pip config);
  2. Debian's packages, repacked as wheels that carry their upstream metadata (Requires-Dist included);
  3. stand-ins from e2e/emulator/pypi-standins/ (see its README) for what exists in neither.
Stdlib only: it runs before anything is installed. One file of ~420 lines on purpose: it is the single
step scripts/setup.sh runs before any tooling exists, so it cannot share modules with the project. Usage: tljh_wheelhouse.py --cache DIR [--tljh-git DIR]
"""

import argparse
import ast
import base64
import hashlib
import io
import lzma
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDINS = os.path.join(ROOT, "e2e", "emulator", "pypi-standins")
PLUGINS = os.path.join(ROOT, "e2e", "emulator", "plugins")
DEBIAN = "http://deb.debian.org/debian"
SUITE = "trixie"  # pure-Python (Architecture: all) packages from here
# Debian package -> the upstream Requires-Dist, where Debian's egg-info dropped them (None: PKG-INFO has them).
REPACKS = {
    "jupyterhub": None,  # 5.2.1; its share/jupyterhub goes into the wheel's .data/data, as upstream's wheel does
    "python3-ruamel.yaml": None,  # 0.18.x, which TLJH 2.0.0 pins; the local index only has 0.19
    "python3-certipy": ["pyopenssl"],  # certipy 0.1.3's setup.py
    "python3-escapism": [],
    "python3-onetimepass": ["six"],  # onetimepass 1.0.1's setup.py
    "python3-ldap3": ["pyasn1>=0.4.6"],  # ldap3 2.9.1's requirements.txt
}
# Debian replaces jupyterhub's bundled static components with symlinks into these packages.
JUPYTERHUB_ASSETS = ["libjs-jquery", "libjs-requirejs", "libjs-moment", "libjs-bootstrap5"]
# ruamel.yaml 0.18 requires its C extension on CPython < 3.13: the build for this machine's own release
# (Debian 12, Python 3.11), fetched with apt-get download.
APT_REPACKS = {"python3-ruamel.yaml.clib": []}
REFS = os.environ.get("TLJH_WHEELHOUSE_REFS", "2.0.0").split()


def die(msg):
    sys.exit(f"tljh-wheelhouse: error: {msg}")


def say(msg):
    print(f"tljh-wheelhouse: {msg}", flush=True)


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        die(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return p.stdout


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---- inputs from TLJH's own source --------------------------------------------------------------


def git_show(git_dir, ref, path):
    return run(["git", "--git-dir", git_dir, "show", f"{ref}:{path}"])


def install_requires(setup_py):
    """The literal install_requires list of TLJH's setup.py, read without running it."""
    for node in ast.walk(ast.parse(setup_py)):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [ast.literal_eval(e) for e in node.value.elts]
    die("TLJH's setup.py has no literal install_requires")


def no_binary_names(req_text):
    return set(re.findall(r"--no-binary[= ]([A-Za-z0-9_.-]+)", req_text))


# ---- wheels and sdists ------------------------------------------------------------------------------


def norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def write_wheel(out_dir, name, version, tag, files, metadata, distinfo_extra=()):
    """files: (arcname, bytes, mode) triples. Writes a wheel with METADATA, WHEEL and RECORD."""
    distinfo = f"{norm(name)}-{version}.dist-info"
    purelib = str(tag.endswith("-any")).lower()
    wheel = f"Wheel-Version: 1.0\nGenerator: tljh_wheelhouse.py\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n"
    entries = list(files) + [(f"{distinfo}/{n}", d, 0o644) for n, d in distinfo_extra]
    entries += [(f"{distinfo}/METADATA", metadata.encode(), 0o644), (f"{distinfo}/WHEEL", wheel.encode(), 0o644)]
    record = []
    path = os.path.join(out_dir, f"{norm(name)}-{version}-{tag}.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data, mode in entries:
            info = zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr, info.compress_type = (0o100000 | mode) << 16, zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arc},sha256={digest},{len(data)}")
        record.append(f"{distinfo}/RECORD,,")
        z.writestr(f"{distinfo}/RECORD", "\n".join(record) + "\n")
    return path


def write_sdist(src_dir, out_dir):
    """An sdist by hand (pyproject.toml, module, PKG-INFO): pip builds it with setuptools from the wheelhouse."""
    project = tomllib.load(open(os.path.join(src_dir, "pyproject.toml"), "rb"))["project"]
    base = f"{norm(project['name'])}-{project['version']}"
    pkg_info = f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    pkg_info += f"Summary: {project.get('description', '')}\n"
    if "requires-python" in project:
        pkg_info += f"Requires-Python: {project['requires-python']}\n"
    pkg_info += "".join(f"Requires-Dist: {d}\n" for d in project.get("dependencies", []))
    path = os.path.join(out_dir, base + ".tar.gz")
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        members = [(n, open(os.path.join(src_dir, n), "rb").read()) for n in sorted(os.listdir(src_dir))
                   if os.path.isfile(os.path.join(src_dir, n))]
        for name, data in members + [("PKG-INFO", pkg_info.encode())]:
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 315532800
            tar.addfile(info, io.BytesIO(data))
    return path


# ---- Debian --------------------------------------------------------------------------------------


def debian_index(cache, refresh=False):
    path = os.path.join(cache, "debian", f"{SUITE}-main-binary-all-Packages.xz")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if refresh or not os.path.exists(path):
        say(f"downloading Debian {SUITE}'s package index")
        data = download(f"{DEBIAN}/dists/{SUITE}/main/binary-all/Packages.xz")
        if data is None:
            die(f"Debian has no {SUITE}/main/binary-all/Packages.xz")
        open(path, "wb").write(data)
    index = {}
    for stanza in lzma.open(path).read().decode().split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z0-9-]+): (.*)$", stanza, re.M))
        if "Package" in fields:
            index[fields["Package"]] = fields
    return index


def download(url):
    """The body at url, or None on 404."""
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        die(f"cannot download {url}: {e}")
    except (urllib.error.URLError, OSError) as e:
        die(f"cannot download {url}: {e} (Debian's archive must be reachable for the first build)")


def debian_deb(cache, name, state):
    """The cached .deb of a trixie package, verified against the index; downloads it on first use."""
    if "index" not in state:
        state["index"] = debian_index(cache)
    for attempt in (0, 1):
        if name not in state["index"]:
            die(f"Debian {SUITE} has no package {name}")
        f = state["index"][name]
        dest = os.path.join(cache, "debs", os.path.basename(f["Filename"]))
        if os.path.exists(dest) and sha256(open(dest, "rb").read()) == f["SHA256"]:
            return dest
        say(f"downloading {os.path.basename(dest)}")
        data = download(f"{DEBIAN}/{f['Filename']}")
        if data is None and attempt == 0:  # a point release replaced it: read the index again
            state["index"] = debian_index(cache, refresh=True)
            continue
        if data is None or sha256(data) != f["SHA256"]:
            die(f"{f['Filename']}: missing from Debian's archive, or its SHA256 differs from the index")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        open(dest, "wb").write(data)
        return dest


def apt_deb(cache, name):
    """The cached .deb of a package of this machine's own Debian release (apt-get download)."""
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    found = [f for f in os.listdir(debs) if f.startswith(name + "_") and f.endswith(".deb")]
    if found:
        return os.path.join(debs, sorted(found)[-1])
    if not shutil.which("apt-get"):
        die(f"apt-get is missing: it fetches {name}")
    cmd = ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", name]
    say(f"apt-get download {name}")
    if subprocess.run(cmd, cwd=debs, capture_output=True).returncode != 0:
        say("apt-get download failed; running apt-get update once")
        run(["apt-get", "update", "-qq"])
        run(cmd, cwd=debs)
    return apt_deb(cache, name)


def fix_absolute_links(root):
    """Absolute symlinks would point out of the extraction: make them relative to it."""
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            if os.path.islink(p) and os.readlink(p).startswith("/"):
                target = os.path.join(root, os.readlink(p).lstrip("/"))
                os.unlink(p)
                os.symlink(os.path.relpath(target, d), p)


def tree_files_one(path, arcname):
    return [(arcname, open(path, "rb").read(), 0o644)]


def tree_files(top, prefix, skipped):
    """(arcname, bytes, mode) for each file under top, following symlinks; dangling links are skipped."""
    out = []
    for d, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for n in sorted(files):
            p = os.path.join(d, n)
            rel = os.path.relpath(p, top)
            if not os.path.exists(p):
                skipped.append(rel)
                continue
            mode = 0o755 if os.stat(p).st_mode & 0o111 else 0o644
            out.append((f"{prefix}{rel}", open(p, "rb").read(), mode))
    return out


def repack(deb_paths, requires, out_dir, tag="py3-none-any"):
    """Repacks a Debian Python package (with extra .debs for its symlinked assets) into a wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        for deb in deb_paths:
            run(["dpkg-deb", "-x", deb, tmp])
        fix_absolute_links(tmp)
        site = os.path.join(tmp, "usr", "lib", "python3", "dist-packages")
        info_dirs = [n for n in os.listdir(site) if n.endswith((".egg-info", ".dist-info"))]
        if len(info_dirs) != 1:
            die(f"{deb_paths[0]}: expected one egg-info in dist-packages, found {info_dirs}")
        info = os.path.join(site, info_dirs[0])
        meta = open(os.path.join(info, "PKG-INFO" if info.endswith(".egg-info") else "METADATA")).read()
        name = re.search(r"^Name: (.*)$", meta, re.M).group(1).strip()
        version = re.search(r"^Version: (.*)$", meta, re.M).group(1).strip()
        if requires is not None:  # put back upstream's Requires-Dist, which Debian's egg-info lacks
            head, _, body = meta.partition("\n\n")
            head = "\n".join(x for x in head.splitlines() if not x.startswith("Requires-Dist:"))
            meta = head + "".join(f"\nRequires-Dist: {r}" for r in requires) + "\n\n" + body
        ext = sysconfig.get_config_var("EXT_SUFFIX")
        foreign = [n for n in os.listdir(site) if n.endswith(".so") and not n.endswith(ext)]
        if foreign:  # a C extension must be built for this interpreter
            die(f"{deb_paths[0]}: {foreign} are not built for this Python ({ext})")
        skipped = []
        files = []
        for n in sorted(os.listdir(site)):
            if n != info_dirs[0]:
                p = os.path.join(site, n)
                files += tree_files(p, f"{n}/", skipped) if os.path.isdir(p) else tree_files_one(p, n)
        share = os.path.join(tmp, "usr", "share", name.lower())
        if os.path.isdir(share):  # e.g. jupyterhub's static files and templates: <venv>/share/jupyterhub
            files += tree_files(share, f"{norm(name)}-{version}.data/data/share/{name.lower()}/", skipped)
        extra = [(n, open(os.path.join(info, n), "rb").read()) for n in ("entry_points.txt", "top_level.txt")
                 if os.path.exists(os.path.join(info, n))]
        note = "Repacked from Debian: " + ", ".join(os.path.basename(d) for d in deb_paths) + "\n"
        note += "".join(f"Dangling symlink left out: {s}\n" for s in skipped)
        extra.append(("DEBIAN-SOURCE", note.encode()))
        for s in skipped:
            say(f"warning: {name}: dangling symlink left out: {s}")
        return write_wheel(out_dir, name, version, tag, files, meta, extra)


def platform_tag():
    """The wheel tag of a C extension built for this interpreter (cp311-cp311-linux_x86_64)."""
    impl = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{impl}-{impl}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"


# ---- the build -----------------------------------------------------------------------------------


def fingerprint(inputs):
    h = hashlib.sha256(open(__file__, "rb").read())
    for top in (STANDINS, PLUGINS):
        for d, dirs, files in os.walk(top):
            dirs[:] = sorted(x for x in dirs if x not in ("__pycache__", "build") and not x.endswith(".egg-info"))
            for n in sorted(files):
                p = os.path.join(d, n)
                h.update(os.path.relpath(p, ROOT).encode() + b"\0" + open(p, "rb").read())
    h.update(repr(inputs).encode() + sys.version.encode() + sysconfig.get_platform().encode())
    return h.hexdigest()


def pip_download(stage, args):
    say("pip download " + " ".join(args))
    run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off",
         "--dest", stage, "--find-links", stage, "--only-binary=:all:", *args])


def repack_debian(cache, stage, sources):
    state = {}
    for deb, requires in REPACKS.items():
        debs = [debian_deb(cache, deb, state)]
        if deb == "jupyterhub":
            debs += [debian_deb(cache, a, state) for a in JUPYTERHUB_ASSETS]
        sources[os.path.basename(repack(debs, requires, stage))] = "Debian " + ", ".join(map(os.path.basename, debs))
    for deb, requires in APT_REPACKS.items():
        path = apt_deb(cache, deb)
        sources[os.path.basename(repack([path], requires, stage, platform_tag()))] = "Debian " + os.path.basename(path)


def build_projects(stage, no_binary, sources):
    """The stand-ins and test plugins: wheels built by setuptools, or sdists for TLJH's --no-binary names."""
    wheel_dirs = {}
    for top, kind in ((STANDINS, "stand-in"), (PLUGINS, "test plugin")):
        for n in sorted(os.listdir(top)):
            d = os.path.join(top, n)
            if not os.path.exists(os.path.join(d, "pyproject.toml")):
                continue
            if norm(n) in {norm(x) for x in no_binary}:
                sources[os.path.basename(write_sdist(d, stage))] = f"{kind} (sdist) {os.path.relpath(d, ROOT)}"
            else:
                wheel_dirs[norm(n)] = (d, kind)
    before = set(os.listdir(stage))
    say(f"building {len(wheel_dirs)} stand-ins and plugins")
    with tempfile.TemporaryDirectory() as tmp:  # setuptools builds in the tree: keep the sources clean
        copies = [shutil.copytree(d, os.path.join(tmp, os.path.basename(d))) for d, _ in wheel_dirs.values()]
        run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--wheel-dir",
             stage, *copies])
    for f in sorted(set(os.listdir(stage)) - before):
        d, kind = wheel_dirs[f.split("-")[0].lower()]
        sources[f] = f"{kind} {os.path.relpath(d, ROOT)}"


def download_dependencies(stage, inputs):
    """What each pip command of bootstrap.py and the installer resolves to, one command at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        for ref, (setup_py, hub_env, user_extras) in inputs.items():
            hub_file, user_file = os.path.join(tmp, f"hub-{ref}.txt"), os.path.join(tmp, f"user-{ref}.txt")
            open(hub_file, "w").write(hub_env)
            open(user_file, "w").write(user_extras)
            jupyterhub = next(x.split("#")[0].strip() for x in hub_env.splitlines() if x.startswith("jupyterhub"))
            # bootstrap.py: pip itself, then TLJH from git, built in isolation (setuptools, wheel)
            pip_download(stage, ["pip", "setuptools>=40.8.0", "wheel"])
            pip_download(stage, install_requires(setup_py))
            pip_download(stage, ["--requirement", hub_file])  # installer.py: ensure_jupyterhub_package
            pip_download(stage, ["pip", jupyterhub])  # installer.py: ensure_user_environment
            pip_download(stage, ["--requirement", user_file])


def build(cache, git_dir):
    if sys.version_info[:2] != (3, 11):
        die(f"python3 is {sys.version.split()[0]}: the emulator's hosts run Python 3.11 (Debian 12 / this image)")
    for tool, package in (("git", "git"), ("dpkg-deb", "dpkg")):
        if not shutil.which(tool):
            die(f"{tool} is missing (Debian package {package})")
    if not os.path.isdir(git_dir):
        die(f"no TLJH clone at {git_dir}: run scripts/setup.sh")
    # Where the default index (pypi.org) is unreachable, each lookup then fails at once instead of backing
    # off five times per project (also in pip's build subprocesses); the machine's local indexes still answer.
    os.environ["PIP_RETRIES"] = "0"
    inputs = {ref: (git_show(git_dir, ref, "setup.py"), git_show(git_dir, ref, "tljh/requirements-hub-env.txt"),
                    git_show(git_dir, ref, "tljh/requirements-user-env-extras.txt")) for ref in REFS}
    wheelhouse = os.path.join(cache, "wheelhouse")
    stamp = fingerprint(inputs)
    stamp_file = os.path.join(wheelhouse, ".fingerprint")
    if os.path.exists(stamp_file) and open(stamp_file).read().strip() == stamp:
        say(f"up to date: {wheelhouse}")
        return
    stage = wheelhouse + ".new"
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    sources = {}  # wheelhouse file -> where it came from
    repack_debian(cache, stage, sources)
    build_projects(stage, set().union(*(no_binary_names(v[1] + v[2]) for v in inputs.values())), sources)
    download_dependencies(stage, inputs)
    for f in os.listdir(stage):
        sources.setdefault(f, "local pip index")
    with open(os.path.join(cache, "wheelhouse-sources.txt"), "w") as out:
        out.writelines(f"{f}\t{sources[f]}\n" for f in sorted(sources))
    open(os.path.join(stage, ".fingerprint"), "w").write(stamp + "\n")
    old = wheelhouse + ".old"  # swap the new wheelhouse in whole: a failed build leaves the old one
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(wheelhouse):
        os.replace(wheelhouse, old)
    os.replace(stage, wheelhouse)
    shutil.rmtree(old, ignore_errors=True)
    say(f"built {wheelhouse} ({len(sources)} files; their sources: {out.name})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(ROOT, "e2e", ".cache"))
    ap.add_argument("--tljh-git", help="the TLJH clone (default: the path in <cache>/tljh-git)")
    args = ap.parse_args()
    git_dir = args.tljh_git
    if not git_dir:
        pointer = os.path.join(args.cache, "tljh-git")
        if not os.path.exists(pointer):
            die(f"{pointer} is missing: run scripts/setup.sh, which clones TLJH")
        git_dir = open(pointer).read().strip()
    build(os.path.abspath(args.cache), git_dir)


if __name__ == "__main__":
    main()
