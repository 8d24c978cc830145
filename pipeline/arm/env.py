"""Build (once) and describe the arm64 environment that `bert-edge device-check` runs in.

    build/arm64/                     (gitignored; `ensure_env()` builds it on first use)
      sysroot/                       Debian bookworm arm64: python3.11-minimal, libpython3.11-stdlib,
                                     libstdc++6 and their dependency closure, unpacked (no scripts run)
      site/                          the arm64 wheels below, unpacked (PYTHONPATH of the arm64 python)
      env.json                       what was installed: each .deb's package, version, sha256; each
                                     wheel's file and sha256; qemu's version (the cache key is `KEY`)

Sources: Debian's archive through apt-get with a private state dir (the host's sources list and
keyrings, `APT::Architecture=arm64`; nothing is added to the host's dpkg), and PyPI through pip
(`pip download --platform ... --require-hashes`). The wheels are pinned to exact files and sha256
(`WHEELS`). The .debs are whatever bookworm (+ updates, security) serves now: apt checks each
against the sha256 in the signed Release/Packages files, and env.json records them; pinning
exact .deb versions would break CI at the next Debian point release, which removes old versions.

qemu-user-static (Debian) runs the arm64 python: `qemu-aarch64-static -L SYSROOT -cpu MODEL
SYSROOT/usr/bin/python3.11`, explicitly, so binfmt_misc is not needed. When qemu is missing and
we are root, `apt-get install qemu-user-static` installs it (the Makefile's `arm-deps` does too).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from converters.files import sha256_file  # noqa: F401  (device_check uses it from here too)
from pipeline.errors import BertEdgeError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / "build" / "arm64"

# Root packages; apt resolves their dependency closure (libc6, libssl3, zlib1g, ...).
DEBIAN_PACKAGES = ("python3.11-minimal", "libpython3.11-stdlib", "libstdc++6")
PY_VERSION = "3.11"
# (distribution, version, file, sha256): the arm64 builds of what the host venv pins
# (requirements/constraints.txt: ai-edge-litert 2.1.0, numpy 1.26.4).
WHEELS = (
    ("numpy", "1.26.4", "numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
     "7ab55401287bfec946ced39700c053796e7cc0e3acbef09993a9ad2adba6ca6e"),
    ("ai-edge-litert", "2.1.0", "ai_edge_litert-2.1.0-cp311-cp311-manylinux_2_27_aarch64.whl",
     "92b24d2507fccf5680c26e712c156266dcf64a892df3921dd42f4a7d26527462"),
)
# Bump when the layout or the package set changes: a cached env with another key is rebuilt.
KEY = hashlib.sha256(json.dumps([3, DEBIAN_PACKAGES, WHEELS]).encode()).hexdigest()[:16]

# Emulated CPUs (qemu 7.2 `-cpu` models) and what they stand for on a phone.
CPUS = {
    "cortex-a53": "ARMv8.0-A NEON, no dot-product (little cores, low-end phones)",
    "cortex-a76": "ARMv8.2-A NEON + dot-product (SDOT/UDOT; big cores since 2018)",
    "neoverse-n1": "ARMv8.2-A NEON + dot-product (server twin of the A76)",
    "max": "every feature qemu emulates: dot-product, i8mm, SVE2, bf16 (newest cores)",
}
# /proc/cpuinfo as the real core reports it (MIDR part, Features). qemu-user passes the host's
# x86 /proc/cpuinfo through, so XNNPACK's cpuinfo would see an unknown core and skip the
# micro-kernels tuned per core (e.g. Cortex-A53 GEMMs); `-L DIR` serves DIR/proc/cpuinfo
# instead, so each CPU gets a view of the sysroot with its own. ISA features (dot-product) come
# from AT_HWCAP, which qemu sets from the -cpu model.
_FEAT_V80 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"
_FEAT_V82 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs"
CPUINFO = {"cortex-a53": ("0x0", "0xd03", "4", _FEAT_V80),
           "cortex-a76": ("0x4", "0xd0b", "1", _FEAT_V82),
           "neoverse-n1": ("0x4", "0xd0c", "1", _FEAT_V82)}
_SYSROOT_TOP = ("bin", "etc", "lib", "sbin", "usr", "var")
DEFAULT_CPUS = ("cortex-a53", "cortex-a76")

Say = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class ArmEnv:
    root: Path
    qemu: str
    info: dict

    @property
    def sysroot(self) -> Path:
        return self.root / "sysroot"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def python(self) -> Path:
        return self.sysroot / "usr" / "bin" / f"python{PY_VERSION}"

    def view(self, cpu: str) -> Path:
        """The -L prefix for `cpu`: the sysroot itself, or (for a core in CPUINFO) a directory
        of links to it plus that core's proc/cpuinfo (one entry per host CPU)."""
        if cpu not in CPUINFO:
            return self.sysroot
        variant, part, rev, feats = CPUINFO[cpu]
        view = self.root / "cpu" / cpu
        text = "".join(f"processor\t: {i}\nBogoMIPS\t: 50.00\nFeatures\t: {feats}\nCPU implementer\t: 0x41\n"
                       f"CPU architecture: 8\nCPU variant\t: {variant}\nCPU part\t: {part}\n"
                       f"CPU revision\t: {rev}\n\n" for i in range(os.cpu_count() or 1))
        info = view / "proc" / "cpuinfo"
        if not info.is_file() or info.read_text() != text:
            (view / "proc").mkdir(parents=True, exist_ok=True)
            for top in _SYSROOT_TOP:
                link = view / top
                if (self.sysroot / top).exists() and not link.is_symlink():
                    try:
                        link.symlink_to(Path("..", "..", "sysroot", top))
                    except FileExistsError:  # a parallel run made it
                        pass
            info.write_text(text)
        return view

    def command(self, cpu: str, *args: str) -> list[str]:
        return [self.qemu, "-L", str(self.view(cpu)), "-cpu", cpu, str(self.python), *args]

    def environ(self) -> dict:
        """A clean environment for the arm64 python: no host PYTHON*/LD_* variables."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "LD_", "QEMU_", "VIRTUAL_ENV"))}
        env.update(PYTHONPATH=str(self.site), PYTHONNOUSERSITE="1", LANG="C.UTF-8")
        return env


def find_qemu() -> Optional[str]:
    for name in ("qemu-aarch64-static", "qemu-aarch64"):
        path = shutil.which(name)
        if path:
            return path
    return None


def qemu_version(qemu: str) -> str:
    out = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip() if out else "?"


def qemu_cpus(qemu: str) -> list[str]:
    out = subprocess.run([qemu, "-cpu", "help"], capture_output=True, text=True).stdout
    return [l.strip() for l in out.splitlines()[1:] if l.strip()]


def _run(cmd: list[str], what: str, timeout: float = 900, **kw) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except FileNotFoundError:
        raise BertEdgeError(f"arm64 environment: {what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise BertEdgeError(f"arm64 environment: {what}: no answer after {timeout:.0f} s") from None
    if p.returncode != 0:
        tail = [l for l in (p.stderr or p.stdout).strip().splitlines() if l.strip()]
        raise BertEdgeError(f"arm64 environment: {what} failed (exit {p.returncode}): "
                            f"{tail[-1] if tail else 'no output'}")
    return p.stdout


def ensure_qemu(say: Say = _stderr) -> str:
    """The qemu-aarch64 binary; installs Debian's qemu-user-static when missing and root."""
    qemu = find_qemu()
    if qemu:
        return qemu
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BertEdgeError("qemu-aarch64-static not found: install Debian's qemu-user-static "
                            "(apt-get install qemu-user-static, or `make arm-deps` as root)")
    say("[arm64] installing qemu-user-static (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        _run(["apt-get", "install", "-y", "-qq", "qemu-user-static"], "apt-get install qemu-user-static", env=env)
    except BertEdgeError:
        _run(["apt-get", "update", "-qq"], "apt-get update", env=env)
        _run(["apt-get", "install", "-y", "-qq", "qemu-user-static"], "apt-get install qemu-user-static", env=env)
    qemu = find_qemu()
    if not qemu:
        raise BertEdgeError("qemu-user-static installed but qemu-aarch64-static is not on PATH")
    return qemu


def _apt_options(work: Path) -> list[str]:
    """apt-get options for a private arm64-only state: the host's sources and keyrings, our own
    package lists, dpkg status (empty: nothing is installed in the sysroot) and download dir."""
    return ["-o", f"Dir::State={work}/state", "-o", f"Dir::State::status={work}/status",
            "-o", f"Dir::Cache={work}/cache", "-o", f"Dir::Cache::archives={work}/debs",
            "-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
            "-o", "APT::Get::AllowUnauthenticated=false", "-o", "Acquire::AllowInsecureRepositories=false"]


def _debian_sysroot(work: Path, sysroot: Path, say: Say) -> list[dict]:
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise BertEdgeError("arm64 environment: apt-get and dpkg-deb are needed (a Debian host) "
                            "to fetch the arm64 Python packages")
    for d in ("state/lists/partial", "cache/archives/partial", "debs/partial"):
        (work / d).mkdir(parents=True, exist_ok=True)
    (work / "status").write_text("")
    opts = _apt_options(work)
    say("[arm64] apt-get update (arm64 package lists, private state)")
    try:
        _run(["apt-get", "-q", *opts, "update"], "apt-get update (arm64)")
    except BertEdgeError as e:  # e.g. a third-party source without arm64: the download decides
        say(f"[arm64] warning: {e}")
    say(f"[arm64] apt-get download: {', '.join(DEBIAN_PACKAGES)} and dependencies")
    _run(["apt-get", "-q", "-y", *opts, "install", "--download-only", "--no-install-recommends",
          *DEBIAN_PACKAGES], "apt-get install --download-only (arm64)",
         env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    debs = sorted((work / "debs").glob("*.deb"))
    if not debs:
        raise BertEdgeError("arm64 environment: apt-get downloaded no packages")
    say(f"[arm64] unpacking {len(debs)} .deb files into {sysroot}")
    sysroot.mkdir(parents=True, exist_ok=True)
    record = []
    for deb in debs:
        fields = _run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture"],
                      f"dpkg-deb -f {deb.name}")
        meta = dict(l.split(": ", 1) for l in fields.strip().splitlines() if ": " in l)
        _run(["dpkg-deb", "-x", str(deb), str(sysroot)], f"dpkg-deb -x {deb.name}")
        record.append({"package": meta.get("Package"), "version": meta.get("Version"),
                       "architecture": meta.get("Architecture"), "file": deb.name,
                       "sha256": sha256_file(deb)})
    if not (sysroot / "usr" / "bin" / f"python{PY_VERSION}").is_file():
        raise BertEdgeError(f"arm64 environment: python{PY_VERSION} missing after unpacking the .debs")
    return record


def _wheels(work: Path, site: Path, say: Say) -> list[dict]:
    dl = work / "wheels"
    dl.mkdir(parents=True, exist_ok=True)
    req = work / "requirements-arm64.txt"
    req.write_text("".join(f"{name}=={ver} --hash=sha256:{sha}\n" for name, ver, _, sha in WHEELS))
    say(f"[arm64] pip download (aarch64 wheels, sha256-pinned): "
        f"{', '.join(f'{n} {v}' for n, v, _, _ in WHEELS)}")
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
          "--platform", "manylinux_2_27_aarch64", "--platform", "manylinux2014_aarch64",
          "--python-version", PY_VERSION, "--implementation", "cp", "--abi", "cp311",
          "--require-hashes", "-r", str(req), "-d", str(dl)], "pip download (aarch64 wheels)")
    site.mkdir(parents=True, exist_ok=True)
    record = []
    for name, ver, fname, sha in WHEELS:
        path = dl / fname
        if not path.is_file():
            raise BertEdgeError(f"arm64 environment: pip did not download {fname}")
        got = sha256_file(path)
        if got != sha:
            raise BertEdgeError(f"arm64 environment: {fname} has sha256 {got}, expected {sha}")
        with zipfile.ZipFile(path) as z:
            z.extractall(site)
        record.append({"name": name, "version": ver, "file": fname, "sha256": sha})
    # extractall drops the executable bits; nothing in these wheels is run as a program.
    return record


def _smoke(env: ArmEnv, say: Say) -> dict:
    say("[arm64] smoke test: import numpy and ai_edge_litert in the emulated python")
    code = ("import json, platform, numpy, ai_edge_litert, ai_edge_litert.interpreter; "
            "print(json.dumps({'machine': platform.machine(), 'python': platform.python_version(), "
            "'numpy': numpy.__version__, 'ai_edge_litert': ai_edge_litert.__version__}))")
    out = _run(env.command(DEFAULT_CPUS[0], "-c", code), "smoke test of the arm64 python",
               timeout=600, env=env.environ())
    info = json.loads(out.strip().splitlines()[-1])
    if info.get("machine") != "aarch64":
        raise BertEdgeError(f"arm64 environment: the emulated python reports machine {info.get('machine')}")
    return info


def read_info(root: Path) -> Optional[dict]:
    try:
        info = json.loads((root / "env.json").read_text())
    except (OSError, ValueError):
        return None
    return info if info.get("key") == KEY else None


def ensure_env(root: Path | str = DEFAULT_DIR, say: Say = _stderr) -> ArmEnv:
    """The arm64 environment under `root`, built on first use (a few minutes, ~110 MB) and
    reused while `KEY` matches. BertEdgeError (exit 2) when it cannot be built."""
    root = Path(root).resolve()
    qemu = ensure_qemu(say)
    info = read_info(root)
    if info and (root / "sysroot" / "usr" / "bin" / f"python{PY_VERSION}").is_file():
        return ArmEnv(root, qemu, info)
    root.parent.mkdir(parents=True, exist_ok=True)
    lock_path = root.parent / f".{root.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel run waits, then finds it built
        info = read_info(root)
        if info and (root / "sysroot" / "usr" / "bin" / f"python{PY_VERSION}").is_file():
            return ArmEnv(root, qemu, info)
        t0 = time.monotonic()
        say(f"[arm64] building the arm64 environment in {root} (first use; cached afterwards)")
        tmp = root.parent / f".{root.name}.building"
        shutil.rmtree(tmp, ignore_errors=True)
        work = tmp / "download"
        try:
            debs = _debian_sysroot(work, tmp / "sysroot", say)
            wheels = _wheels(work, tmp / "site", say)
            env = ArmEnv(tmp, qemu, {})
            smoke = _smoke(env, say)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(work, ignore_errors=True)  # downloaded files: recorded, not needed
        info = {"key": KEY, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "qemu": qemu_version(qemu), "debian_packages": debs, "wheels": wheels,
                "runtime": smoke, "build_seconds": round(time.monotonic() - t0, 1)}
        (tmp / "env.json").write_text(json.dumps(info, indent=2) + "\n")
        # The sysroot's python finds its stdlib relative to its own path: move, do not copy.
        old = root.parent / f".{root.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if root.exists():
            root.rename(old)
        tmp.rename(root)
        shutil.rmtree(old, ignore_errors=True)
        say(f"[arm64] environment ready in {info['build_seconds']:.0f} s: python {smoke['python']}, "
            f"numpy {smoke['numpy']}, ai_edge_litert {smoke['ai_edge_litert']}, {info['qemu']}")
        return ArmEnv(root, qemu, info)
