"""PyTorch side of `npm run bench`: runs one job (JSON in argv[1]) and prints one JSON line.

Jobs (the harness, bench/run.ts, builds them from bench/lib/workloads.ts):
  step     training steps of one workload: warm-up, then timed windows of whole steps
  fisher   diagonal Fisher of the CNN: per-example squared gradients over N samples per pass
  retrain  the CNN trained from scratch on a data set the harness wrote (the end-to-end Retrain)
  params   parameter counts of the models (a check that both sides build the same networks)

Installs nothing. Without torch it prints one line saying how to install it and exits with 3.
The harness sets OPENBLAS_NUM_THREADS=1 in this process's environment; torch gets `threads`.
"""
import json
import math
import os
import resource
import sys
import time

UNAVAILABLE_EXIT = 3


def blas_info() -> dict:
    """Which BLAS this process really loaded (after a matmul), and torch's build flags."""
    import torch

    a = torch.randn(64, 64)
    (a @ a).sum().item()
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path)
            if any(k in name for k in ("blas", "lapack", "mkl", "dnnl")):
                libs.add(os.path.realpath(path))
    flags = torch.__config__.show()
    build = [part.strip() for part in flags.replace("\n", ",").split(",") if "BLAS_INFO" in part or "USE_MKLDNN" in part]
    return {"loaded": sorted(libs), "build": build, "openblasThreadsEnv": os.environ.get("OPENBLAS_NUM_THREADS")}


def window_rates(
    run_steps, batch: int, warmup: int, windows: int, window_seconds: float, warmup_seconds: float = 0
) -> list:
    """samples/s of `windows` windows of whole steps, each about `window_seconds` long, after
    `warmup` steps and unrecorded windows until `warmup_seconds` have passed (as the project's side)."""
    run_steps(warmup)
    t0 = time.perf_counter()
    run_steps(1)
    per_step = time.perf_counter() - t0
    steps = max(2, math.ceil(window_seconds / max(per_step, 1e-6)))
    warm_until = time.perf_counter() + warmup_seconds
    while time.perf_counter() < warm_until:
        run_steps(steps)
    rates = []
    for _ in range(windows):
        t0 = time.perf_counter()
        run_steps(steps)
        rates.append(steps * batch / (time.perf_counter() - t0))
    return rates


def step_job(job: dict) -> dict:
    import torch
    import torch.nn.functional as F

    from models import build, optimizer

    w = job["workload"]
    torch.manual_seed(job["seed"])
    model = build(w)
    model.train()
    opt = optimizer(w["optimizer"], model)
    h, wd, c = w["inputShape"]
    b = w["batch"]
    # A pool of 8 batches, gathered by a random permutation per step like the project's loader.
    pool = 8 * b
    xs = torch.randn(pool, c, h, wd)
    ys = torch.randint(0, w["numClasses"], (pool,))

    def run_steps(n: int) -> None:
        for _ in range(n):
            idx = torch.randint(0, pool, (b,))
            x, y = xs.index_select(0, idx), ys.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss.item()

    rates = window_rates(
        run_steps, b, job["warmupSteps"], job["windows"], job["windowSeconds"], job.get("warmupSeconds", 0)
    )
    return {"samplesPerSec": rates}


def fisher_job(job: dict) -> dict:
    """Per-example squared gradients by the Opacus/BackPACK route: layer inputs a and output
    gradients δ from one forward/backward of the summed loss; Linear: Σ_i (δ_i a_iᵀ)²;
    Conv: Σ_i (δ_i U_iᵀ)² with U_i the unfolded input patches."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from models import build

    w = job["workload"]
    torch.manual_seed(job["seed"])
    model = build(w)
    model.eval()  # per-example gradients are taken in inference mode, as the project does
    h, wd, c = w["inputShape"]
    n, b = job["samples"], job["batch"]
    xs = torch.randn(n, c, h, wd)
    ys = torch.randint(0, w["numClasses"], (n,))
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    for p in model.parameters():
        p.requires_grad_(False)  # only δ is needed, not the batch gradient

    def one_pass() -> list:
        sums = [torch.zeros_like(m.weight) for m in layers] + [torch.zeros_like(m.bias) for m in layers]
        for s in range(0, n, b):
            x, y = xs[s : s + b], ys[s : s + b]
            inputs, outputs = [], []

            def keep(mod, inp, out):
                inputs.append(inp[0])
                outputs.append(out)

            handles = [m.register_forward_hook(keep) for m in layers]
            x.requires_grad_(True)  # so the hooked outputs are part of the graph
            loss = F.cross_entropy(model(x), y, reduction="sum")
            for hd in handles:
                hd.remove()
            deltas = torch.autograd.grad(loss, outputs)
            with torch.no_grad():
                for i, (m, a, d) in enumerate(zip(layers, inputs, deltas)):
                    if isinstance(m, nn.Linear):
                        sums[i] += (d * d).t() @ (a * a)
                        sums[len(layers) + i] += (d * d).sum(0)
                    else:
                        u = F.unfold(a, m.kernel_size, padding=m.padding, stride=m.stride)  # [b, cin·k·k, P]
                        dd = d.flatten(2)  # [b, cout, P]
                        g = torch.bmm(dd, u.transpose(1, 2))  # [b, cout, cin·k·k]
                        sums[i] += (g * g).sum(0).view_as(m.weight)
                        sums[len(layers) + i] += (dd.sum(2) ** 2).sum(0)
        return sums

    def run_passes(k: int) -> None:
        for _ in range(k):
            one_pass()

    # One "step" here is one pass over n samples; report samples/s.
    rates = window_rates(run_passes, n, 1, job["windows"], job["windowSeconds"])
    return {"samplesPerSec": rates}


def retrain_job(job: dict) -> dict:
    """The CNN trained on the harness's data (NHWC float32 + int32 labels) with the recipe."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from models import build, optimizer

    w, recipe = job["workload"], job["recipe"]
    h, wd, c = w["inputShape"]
    n = job["n"]
    x = torch.from_numpy(np.fromfile(os.path.join(job["dataDir"], "x.f32"), dtype=np.float32))
    x = x.view(n, h, wd, c).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(np.fromfile(os.path.join(job["dataDir"], "y.i32"), dtype=np.int32).astype(np.int64))
    torch.manual_seed(recipe["seed"])
    model = build(w)
    model.train()
    opt = optimizer(recipe["optimizer"], model)
    bs = recipe["batchSize"]
    steps_per_epoch = math.ceil(n / bs)
    total = max(1, round(recipe["epochs"] * steps_per_epoch))
    lr = recipe["optimizer"]["lr"]
    cosine = recipe["optimizer"].get("schedule") == "cosine"
    t0 = time.perf_counter()
    step = 0
    last = 0.0
    while step < total:
        order = torch.randperm(n)
        for s in range(0, n, bs):
            if step >= total:
                break
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total)) if cosine else lr
            idx = order[s : s + bs]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x.index_select(0, idx)), y.index_select(0, idx))
            loss.backward()
            opt.step()
            last = loss.item()
            step += 1
    seconds = time.perf_counter() - t0
    return {"timeMs": seconds * 1000, "steps": total, "samples": total * bs, "finalLoss": last}


def params_job(job: dict) -> dict:
    """Parameter count of each workload's PyTorch model (build() refuses a mismatch)."""
    from models import build

    return {"params": {w["id"]: sum(p.numel() for p in build(w).parameters()) for w in job["workloads"]}}


JOBS = {"step": step_job, "fisher": fisher_job, "retrain": retrain_job, "params": params_job}


def main() -> None:
    job = json.loads(sys.argv[1])
    try:
        import torch
    except ImportError:
        print(
            f"PyTorch reference unavailable: {sys.executable} cannot import torch "
            "(install it with: apt-get install python3-torch libopenblas0-pthread)"
        )
        sys.exit(UNAVAILABLE_EXIT)
    torch.set_num_threads(job["threads"])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    out = JOBS[job["kind"]](job)
    out.update(
        ok=True,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        blas=blas_info(),
        maxRssKB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
