"""`bert-edge device-check`: the bundle's TFLite models on the phone's arm64 kernels (LiteRT
arm64 + XNNPACK NEON), emulated by qemu, against the golden host logits and the tolerances."""
from __future__ import annotations

import sys
import time
from pathlib import Path

HELP = "run the bundle's TFLite models on emulated arm64 CPUs (qemu) and check them against golden.jsonl"
DESCRIPTION = (
    "Runs every TFLite model of an app bundle (manifest.json models[] with format tflite) with "
    "LiteRT's arm64 build, the runtime a phone uses (XNNPACK NEON kernels), in an arm64 python "
    "under qemu user-mode emulation, once per emulated CPU: by default cortex-a53 (ARMv8.0, no "
    "dot-product) and cortex-a76 (ARMv8.2 with the SDOT/UDOT dot-product extension), which take "
    "different int8 micro-kernels. Every golden case is compared with the host logits in "
    "golden.jsonl against manifest.json's tolerances, as the app's self-test does: every logit "
    "within max_abs_logit_diff, argmax agreement >= min_argmax_agreement. Prints a table of max "
    "|logit diff| host vs arm64 per backend and CPU; --junit writes a JUnit XML report. "
    "The arm64 environment (Debian arm64 python3.11, sha256-pinned aarch64 wheels of numpy and "
    "ai-edge-litert) is built on first use into build/arm64/ (about 30 s and 150 MB; needs "
    "apt-get and qemu-user-static, which is installed when missing and running as root). "
    "Exit 0 all passed, 3 a tolerance breach (names case, backend and CPU), 2 a bad bundle or "
    "an arm64 environment that cannot be set up.")


def add_arguments(p) -> None:
    from pipeline.arm.env import CPUS, DEFAULT_CPUS, DEFAULT_DIR

    p.add_argument("--bundle", metavar="DIR", default="android_demo/app/src/main/assets",
                   help="app bundle directory (manifest.json, golden.jsonl, model_*.tflite)")
    p.add_argument("--cpus", default=",".join(DEFAULT_CPUS),
                   help="comma-separated qemu CPU models to emulate; "
                        + "; ".join(f"{k}: {v}" for k, v in CPUS.items()))
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report (one testcase per "
                   "backend x CPU x golden case, plus argmax agreement per backend x CPU)")
    p.add_argument("--cases", type=int, metavar="N", help="check only N golden cases, evenly "
                   "spread over golden.jsonl (first and last included); default: all. Emulation "
                   "costs about 2000x native time: a 4-layer 312-wide student at 128 tokens takes "
                   "about 6 s per case for int8 and 30 s for fp32, per CPU")
    p.add_argument("--threads", type=int, default=1, help="LiteRT threads in the emulated runtime")
    p.add_argument("--timeout", type=float, default=1800, metavar="SECONDS",
                   help="give up on one emulated CPU after this long")
    p.add_argument("--env-dir", metavar="DIR", default=str(DEFAULT_DIR),
                   help="where the arm64 environment is built and cached")
    p.add_argument("--setup-only", action="store_true",
                   help="build (or verify) the arm64 environment and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")


def run(args) -> int:
    from pipeline.arm.env import ensure_env
    from pipeline.device_check import device_check, load_bundle, raise_on_failure, table
    from pipeline.errors import BertEdgeError

    def say(msg: str) -> None:
        if not args.no_progress:
            print(msg, file=sys.stderr, flush=True)

    if args.threads < 1:
        raise BertEdgeError("--threads must be >= 1")
    bundle = None if args.setup_only else load_bundle(args.bundle)  # a bad bundle fails before any set-up
    t0 = time.monotonic()
    env = ensure_env(args.env_dir, say=say)
    if args.setup_only:
        info = env.info
        print(f"arm64 environment: {env.root}")
        print(f"  {info.get('qemu', '?')}")
        rt = info.get("runtime", {})
        print(f"  python {rt.get('python')}, numpy {rt.get('numpy')}, ai_edge_litert {rt.get('ai_edge_litert')}; "
              f"{len(info.get('debian_packages', []))} Debian arm64 packages")
        return 0
    setup = time.monotonic() - t0
    cpus = [c.strip() for c in args.cpus.split(",") if c.strip()]
    results = device_check(bundle, cpus, env, threads=args.threads, timeout=args.timeout,
                           junit=Path(args.junit) if args.junit else None, say=say,
                           max_cases=args.cases)
    print(table(results))
    total = time.monotonic() - t0
    print(f"{sum(r.passed for r in results)}/{len(results)} backend x CPU checks passed "
          f"(environment {setup:.1f} s, check {total - setup:.1f} s)"
          + (f"; JUnit report: {args.junit}" if args.junit else ""))
    raise_on_failure(results)
    return 0
