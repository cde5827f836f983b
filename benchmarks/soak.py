"""Kill-and-resume soak: SIGKILL `gan-studio train` at random moments, resume, and prove nothing was lost.

For a GAN and a VAE (tiny, CPU) it runs an uninterrupted reference run, then the same run killed
`--rounds` times and resumed each time with `gan-studio train --resume`. Kills come in five kinds:

  random             the parent sends SIGKILL once the child has logged a randomly chosen step,
                     after a random extra delay (usually mid-step or mid-checkpoint-write)
  checkpoint-write   the child kills itself halfway through writing a checkpoint's bytes
  checkpoint-rename  the child kills itself just before or just after a checkpoint's atomic rename
  sample-write       the child kills itself halfway through writing a sample grid PNG
  metrics-line       the child kills itself after writing half of a metrics.jsonl line

After every kill: run.json is valid JSON, every checkpoint in checkpoints/ loads, every sample PNG
is whole, and metrics.jsonl parses with at most a truncated last line. At the end: no temp files
are left, each step is logged exactly once, and the final weights and optimizer state (every
tensor, exactly), the metrics of every step and the final sample grid equal the reference run's.

    python benchmarks/soak.py                 # 20 kills per model
    python benchmarks/soak.py --rounds 3      # the short version tests/test_soak.py runs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

KILL_KINDS = ("random", "checkpoint-write", "checkpoint-rename", "sample-write", "metrics-line")
VOLATILE_METRICS = ("time", "samples_per_s")  # wall-clock figures: differ between any two runs
CHECKPOINT_EVERY, SAMPLE_EVERY = 10, 7
MODELS = {
    "gan": ["gan", "--data", "ring8", "--g-hidden", "16", "--d-hidden", "16", "--g-layers", "1", "--d-layers", "1",
            "--latent-dim", "2", "--batch-size", "32"],
    "vae": ["vae", "--data", "shapes", "--image-size", "8", "--architecture", "mlp", "--hidden", "16", "--layers",
            "1", "--latent-dim", "2", "--batch-size", "32"],
}  # fmt: skip
CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


class SoakFailure(Exception):
    """A check failed: something was lost or corrupted by a kill."""


@dataclass
class SoakReport:
    model: str
    steps: int
    kills: dict[str, int] = field(default_factory=dict)
    restarts_without_checkpoint: int = 0
    checkpoints_checked: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items()))
        return (f"{self.model}: {sum(self.kills.values())} kills ({kills}); {self.steps} steps identical to the "
                f"uninterrupted run; {self.checkpoints_checked} checkpoint loads checked; "
                f"{self.restarts_without_checkpoint} restarts before the first checkpoint; {self.seconds:.0f} s")  # fmt: skip


# --- the child: `gan-studio train` with an optional self-kill at an exact point ----------------------


def child_main(kind: str, nth: int, fraction: float, train_argv: list[str]) -> int:
    """Run `gan-studio train` in this process, SIGKILLing itself at the `nth` event of `kind`."""
    import torch
    from PIL import Image

    from gan_studio import cli
    from gan_studio.store import rundir as rundir_module

    count = {"n": 0}

    def due() -> bool:
        count["n"] += 1
        return count["n"] == nth

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if kind == "checkpoint-write":
        real_save = torch.save

        def save(obj, f, *args, **kwargs):
            if not due() or isinstance(f, (str, os.PathLike)):
                return real_save(obj, f, *args, **kwargs)
            import io

            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            data = buffer.getvalue()
            f.write(data[: int(len(data) * fraction)])
            f.flush()
            os.fsync(f.fileno())
            die()

        torch.save = save
    elif kind == "checkpoint-rename":
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if not str(dst).endswith(".pt") or not due():
                return real_replace(src, dst, *args, **kwargs)
            if fraction < 0.5:
                die()  # the temp file is complete, the rename never happens
            real_replace(src, dst, *args, **kwargs)
            die()  # renamed, but nothing after it (numbered copy, event) happens

        os.replace = replace
    elif kind == "sample-write":
        real_image_save = Image.Image.save

        def image_save(self, fp, *args, **kwargs):
            if not due():
                return real_image_save(self, fp, *args, **kwargs)
            import io

            buffer = io.BytesIO()
            real_image_save(self, buffer, *args, **kwargs)
            data = buffer.getvalue()
            if hasattr(fp, "write"):  # the temp file of an atomic write
                fp.write(data[: int(len(data) * fraction)])
                fp.flush()
            else:
                with open(fp, "wb") as fh:
                    fh.write(data[: int(len(data) * fraction)])
            die()

        Image.Image.save = image_save
    elif kind == "metrics-line":
        real_append = rundir_module.append_line

        def append_line(path, line):
            if Path(path).name != "metrics.jsonl" or not due():
                return real_append(path, line)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line[: max(1, int(len(line) * fraction))])
            die()

        rundir_module.append_line = append_line
    return cli.main(["train", *train_argv])


# --- the parent ---------------------------------------------------------------------------------------


def train_argv(model: str, steps: int, seed: int) -> list[str]:
    return MODELS[model] + ["--steps", str(steps), "--seed", str(seed), "--device", "cpu", "--log-every", "1",
                            "--checkpoint-every", str(CHECKPOINT_EVERY), "--sample-every", str(SAMPLE_EVERY),
                            "--keep-checkpoints", "2", "--quiet"]  # fmt: skip


def spawn(argv: list[str], kill_kind: str = "none", nth: int = 0, fraction: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, **CHILD_ENV}
    if kill_kind in ("none", "random"):
        command = [sys.executable, "-m", "gan_studio.cli", "train", *argv]  # exactly what `gan-studio train` runs
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", kill_kind, str(nth), str(fraction), "--",
                   *argv]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def logged_steps(run: Path) -> list[int]:
    """Steps of the complete lines of metrics.jsonl (a line being written is ignored)."""
    try:
        data = (run / "metrics.jsonl").read_bytes()
    except FileNotFoundError:
        return []
    steps = []
    for line in data.split(b"\n")[:-1]:
        try:
            steps.append(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            pass
    return steps


def checkpoint_step(run: Path) -> int:
    """The step of checkpoints/last.pt (0 when there is none yet)."""
    from gan_studio.store.checkpoint import load_checkpoint

    last = run / "checkpoints" / "last.pt"
    return int(load_checkpoint(last)["step"]) if last.is_file() else 0


def kill_at_random_step(proc: subprocess.Popen, run: Path, target_step: int, rng: random.Random) -> bool:
    """SIGKILL the child once it has logged `target_step`, after a random 0-30 ms; False if it ended first."""
    while proc.poll() is None:
        steps = logged_steps(run)
        if steps and steps[-1] >= target_step:
            time.sleep(rng.uniform(0.0, 0.03))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    return proc.returncode == -signal.SIGKILL


def remaining_events(kind: str, start: int, steps: int) -> int:
    """How many events of `kind` a run resumed at `start` still has before it finishes."""
    checkpoints = steps // CHECKPOINT_EVERY - start // CHECKPOINT_EVERY
    if kind == "checkpoint-write":
        return 2 * checkpoints  # last.pt, then the numbered copy
    if kind == "checkpoint-rename":
        return 2 * checkpoints
    if kind == "sample-write":
        return steps // SAMPLE_EVERY - start // SAMPLE_EVERY
    return steps - start  # metrics lines (log_every 1)


def check_after_kill(run: Path, report: SoakReport) -> None:
    """What a kill must never break: run.json, the checkpoints, the sample PNGs, metrics.jsonl."""
    from PIL import Image

    from gan_studio.errors import GanStudioError
    from gan_studio.store.checkpoint import load_checkpoint

    try:
        json.loads((run / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SoakFailure(f"run.json unreadable after a kill: {exc}") from None
    for path in sorted((run / "checkpoints").glob("*.pt")):
        try:
            load_checkpoint(path)
        except GanStudioError as exc:
            raise SoakFailure(f"checkpoint does not load after a kill: {exc}") from None
        report.checkpoints_checked += 1
    for path in sorted((run / "samples").glob("*.png")):
        try:
            with Image.open(path) as img:
                img.load()
        except OSError as exc:
            raise SoakFailure(f"sample grid {path.name} is damaged after a kill: {exc}") from None
    check_metrics_file(run, allow_truncated_last=True)


def check_metrics_file(run: Path, allow_truncated_last: bool) -> list[dict]:
    """Every line of metrics.jsonl is a JSON object, except (when allowed) an unterminated last one."""
    data = (run / "metrics.jsonl").read_bytes() if (run / "metrics.jsonl").exists() else b""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail and not allow_truncated_last:
        raise SoakFailure(f"metrics.jsonl ends with an unterminated line: {tail[:80]!r}")
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise SoakFailure(f"metrics.jsonl line {number} is not JSON: {line[:80]!r}") from None
        if not isinstance(record, dict):
            raise SoakFailure(f"metrics.jsonl line {number} is not an object")
        records.append(record)
    return records


def finish(proc: subprocess.Popen, what: str) -> None:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SoakFailure(f"{what} exited with {proc.returncode}: {err.strip()[-500:]}")


def default_steps(rounds: int) -> int:
    """Enough steps that every round can kill the run before it ends (a round advances ~10 steps)."""
    return 40 + 12 * rounds


def soak_model(model: str, rounds: int, workdir: Path, seed: int = 0, steps: int | None = None, log=print,
               kinds: list[str] | None = None) -> SoakReport:  # fmt: skip
    """Reference run, `rounds` kills with resumes, then every check; SoakFailure if anything was lost.

    The kills cycle through KILL_KINDS in a shuffled order, or follow `kinds` when given.
    """
    started = time.perf_counter()
    rounds = len(kinds) if kinds is not None else rounds
    steps = steps or default_steps(rounds)
    rng = random.Random(f"{seed}-{model}")
    report = SoakReport(model, steps)
    argv = train_argv(model, steps, seed)
    reference, run = workdir / f"{model}-reference", workdir / f"{model}-killed"
    for path in (reference, run):
        shutil.rmtree(path, ignore_errors=True)
    finish(spawn(argv + ["--out", str(reference)]), "the reference run")
    if kinds is None:
        kinds = [KILL_KINDS[i % len(KILL_KINDS)] for i in range(rounds)]
        rng.shuffle(kinds)
    for round_number, kind in enumerate(kinds, 1):
        resuming = (run / "run.json").is_file()  # with a checkpoint, or started again from step 0
        start = checkpoint_step(run)
        if kind != "random" and remaining_events(kind, start, steps) < 1:
            kind = "random"
        launch = ["--resume", str(run)] if resuming else argv + ["--out", str(run)]
        if kind == "random":
            proc = spawn(launch, "random")
            target = min(steps - 3, rng.randint(start + 1, start + 2 * CHECKPOINT_EVERY))
            killed = kill_at_random_step(proc, run, target, rng)
        else:
            nth = rng.randint(1, max(1, min(remaining_events(kind, start, steps), 4)))
            proc = spawn(launch, kind, nth, rng.uniform(0.05, 0.95))
            proc.wait()
            killed = proc.returncode == -signal.SIGKILL
        if not killed:
            raise SoakFailure(f"round {round_number} ({kind}): the run ended before the kill (exit {proc.returncode})")
        report.kills[kind] = report.kills.get(kind, 0) + 1
        check_after_kill(run, report)
        if not (run / "checkpoints" / "last.pt").is_file():
            report.restarts_without_checkpoint += 1  # the next --resume starts it again from step 0
        log(f"  {model} round {round_number}/{rounds}: killed ({kind}) at checkpoint step {checkpoint_step(run)}")
    final = ["--resume", str(run)] if (run / "run.json").is_file() else argv + ["--out", str(run)]
    finish(spawn(final), "the final resume")
    compare_with_reference(run, reference, steps)
    report.seconds = time.perf_counter() - started
    return report


def compare_with_reference(run: Path, reference: Path, steps: int) -> None:
    import torch

    from gan_studio.store.checkpoint import load_checkpoint

    leftovers = [p.relative_to(run) for p in run.rglob("*") if ".tmp" in p.name]
    if leftovers:
        raise SoakFailure(f"temp files left in the run directory: {leftovers}")
    records = check_metrics_file(run, allow_truncated_last=False)
    expected = check_metrics_file(reference, allow_truncated_last=False)
    logged = [r["step"] for r in records if "step" in r]
    if logged != list(range(1, steps + 1)):
        repeated = sorted({s for s in logged if logged.count(s) > 1})
        missing = sorted(set(range(1, steps + 1)) - set(logged))
        raise SoakFailure(f"metrics.jsonl steps are wrong: repeated {repeated[:10]}, missing {missing[:10]}")
    for got, want in zip(records, expected, strict=True):
        got_values = {k: v for k, v in got.items() if k not in VOLATILE_METRICS}
        want_values = {k: v for k, v in want.items() if k not in VOLATILE_METRICS}
        if got_values != want_values:
            raise SoakFailure(f"metrics differ from the uninterrupted run at step {got['step']}: {got_values} != "
                              f"{want_values}")  # fmt: skip
    final, ref = (
        load_checkpoint(run / "checkpoints" / "last.pt"),
        load_checkpoint(reference / "checkpoints" / "last.pt"),
    )
    if final["step"] != steps or ref["step"] != steps:
        raise SoakFailure(f"final checkpoints are at steps {final['step']} and {ref['step']}, expected {steps}")
    for name, tensor in ref["model"].items():
        if not torch.equal(final["model"][name], tensor):
            raise SoakFailure(f"weight {name} differs from the uninterrupted run")
    for (path, a), (_, b) in zip(_tensors(final["optimizers"]), _tensors(ref["optimizers"]), strict=True):
        if not torch.equal(a, b):
            raise SoakFailure(f"optimizer state {path} differs from the uninterrupted run")
    grid = f"samples/step-{steps:07d}.png"
    if (run / grid).read_bytes() != (reference / grid).read_bytes():
        raise SoakFailure(f"the final sample grid {grid} differs from the uninterrupted run")


def _tensors(value, path="") -> list:
    """(path, tensor) pairs of a nested structure, in a stable order."""
    import torch

    if isinstance(value, torch.Tensor):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for key in sorted(value, key=str) for item in _tensors(value[key], f"{path}/{key}")]
    if isinstance(value, (list, tuple)):
        return [item for i, v in enumerate(value) for item in _tensors(v, f"{path}/{i}")]
    return []


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        kind, nth, fraction = argv[1], int(argv[2]), float(argv[3])
        return child_main(kind, nth, fraction, argv[5:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="kills per model [20]")
    parser.add_argument("--models", default="gan,vae", help="comma-separated: gan, vae [gan,vae]")
    parser.add_argument("--steps", type=int, help="training steps of each run [40 + 12 x rounds]")
    parser.add_argument("--seed", type=int, default=0, help="seed of the runs and of the kill schedule [0]")
    parser.add_argument("--workdir", help="where the runs go (default: a temp folder, deleted at the end)")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="gan-studio-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for model in args.models.split(","):
            print(f"{model}: reference run, then {args.rounds} kills", flush=True)
            report = soak_model(model, args.rounds, workdir, args.seed, args.steps,
                                log=lambda text: print(text, flush=True))  # fmt: skip
            print("PASS " + report.line(), flush=True)
    except SoakFailure as exc:
        print(f"FAIL {exc}  (runs kept in {workdir})", file=sys.stderr)
        return 1
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
