"""Time a model in Groundwork's simulator and in radCAD, in one run, and print ratios.

    cargo build --release -p groundwork-cli
    python3 -m venv /tmp/radcad-venv && /tmp/radcad-venv/bin/pip install radcad==0.14.0 typing_extensions
    /tmp/radcad-venv/bin/python crates/sim/bench/compare_radcad.py --model small [--runs 8] [--repeats 5]
    /tmp/radcad-venv/bin/python crates/sim/bench/compare_radcad.py --model reference [--runs 1] [--repeats 3]

Two models, each implemented on both sides with the same state, step order and formulas:

* `small` (small-model.toml / radcad_small.py): the issue's small reference model, a network-level
  token model with 300 identical operators held as counts in radCAD, written the way radCAD's
  docs show (state variables, policies, state update functions). `radcad_small.py --check`
  verifies that both sides produce the same trajectory, step by step.
* `reference` (reference-model.toml / radcad_reference.py): 10,000 operators with spreads in
  cost, capacity and patience; radCAD in two styles (`numpy`: operators as NumPy arrays;
  `agents`: operators as objects in a Python loop). Its random streams differ between the sides.

The measurements are interleaved (Groundwork, then each radCAD variant, then Groundwork again,
...) so that a busy machine slows every side alike; each is a fresh process. What is timed:

* run to run (the comparison): radCAD's `experiment.run()` against the simulation run inside
  `groundwork sim run` (its `run_seconds` and `run_cpu_seconds` in `--output json`: the runs
  alone, without start-up, parsing or writing outputs);
* Groundwork's whole process (start-up, parsing, the run, writing every CSV/JSON/SVG/PNG file),
  wall clock and CPU (user + system) from the operating system, as a second column.

Wall clock and CPU time are reported; on a machine shared with other work the CPU time is the
steadier measure. radCAD's CPU time is that of its main process: with `processes > 1` the
workers' time is not counted and only wall clock is compared.

`--runs N` (default 1) runs N Monte Carlo runs on each side: Groundwork's `--runs N` (parallel
over the cores) against radCAD's `runs=N` on one process and, if N > 1, on its multiprocessing
backend with one process per core. Prints a markdown table of medians and the load average.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

MODELS = {
    "small": ("small-model.toml", "radcad_small.py", [None]),
    "reference": ("reference-model.toml", "radcad_reference.py", ["numpy", "agents"]),
}


def groundwork_seconds(binary, scenario, runs, out):
    """(run wall, run CPU, process wall, process CPU) of one `groundwork sim run`."""
    command = [binary, "--output", "json", "sim", "run", os.path.join(HERE, scenario), "--out",
               out, "--quiet", "--runs", str(runs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads(done.stdout)
    return report["run_seconds"], report["run_cpu_seconds"], elapsed, cpu


def radcad_seconds(script, style, runs, processes):
    command = [sys.executable, os.path.join(HERE, script), "--runs", str(runs), "--processes",
               str(processes)]
    if style:
        command += ["--style", style]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main():
    default_binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                  "release", "groundwork")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groundwork", default=default_binary, help="the release binary")
    parser.add_argument("--model", choices=sorted(MODELS), default="small")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1, help="Monte Carlo runs per measurement")
    parser.add_argument("--styles", help="radCAD styles to time (reference model: numpy,agents)")
    args = parser.parse_args()
    if not os.path.exists(args.groundwork):
        sys.exit(f"no binary at {args.groundwork}: cargo build --release -p groundwork-cli")
    scenario, script, styles = MODELS[args.model]
    if args.styles and args.model == "reference":
        styles = [s for s in args.styles.split(",") if s]
    cores = os.cpu_count() or 1
    variants = [(style, 1) for style in styles]
    if args.runs > 1 and cores > 1:
        variants += [(style, cores) for style in styles]
    names = {v: (f"{v[0]}, " if v[0] else "") + f"{v[1]} process(es)" for v in variants}
    ours, theirs = [], {v: [] for v in variants}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(args.repeats):
            ours.append(groundwork_seconds(args.groundwork, scenario, args.runs, out))
            for variant in variants:
                theirs[variant].append(radcad_seconds(script, variant[0], args.runs, variant[1]))
            loads.append(os.getloadavg()[0])
            print(f"repeat {repeat + 1}: groundwork run {ours[-1][0]:.4f} s ({ours[-1][1]:.4f} s CPU), "
                  f"process {ours[-1][2]:.3f} s ({ours[-1][3]:.3f} s CPU); "
                  + ", ".join(f"radCAD {names[v]} {t[-1][0]:.3f} s ({t[-1][1]:.3f} s CPU)"
                              for v, t in theirs.items()), file=sys.stderr)

    def med(rows, index):
        return statistics.median(r[index] for r in rows)

    def listing(rows, index, digits=4):
        return " / ".join(f"{r[index]:.{digits}f}" for r in rows)

    run_wall, run_cpu = med(ours, 0), med(ours, 1)
    proc_wall, proc_cpu = med(ours, 2), med(ours, 3)
    print(f"{args.model} model, {args.runs} run(s), median of {args.repeats}; load average (1 min) "
          f"{min(loads):.1f}–{max(loads):.1f} during the measurements\n")
    print("| measurement | wall s | CPU s | radCAD ÷ Groundwork run, wall | CPU "
          "| radCAD ÷ Groundwork whole process, wall | CPU |")
    print("|---|---|---|---|---|---|---|")
    print(f"| Groundwork, simulation run (`run_seconds`) | {run_wall:.4f} ({listing(ours, 0)}) "
          f"| {run_cpu:.4f} ({listing(ours, 1)}) | | | | |")
    print(f"| Groundwork, whole process | {proc_wall:.3f} ({listing(ours, 2, 3)}) "
          f"| {proc_cpu:.3f} ({listing(ours, 3, 3)}) | | | | |")
    for variant in variants:
        rows = theirs[variant]
        wall, cpu = med(rows, 0), med(rows, 1)
        single = variant[1] == 1
        cpu_text = f"{cpu:.3f} ({listing(rows, 1, 3)})" if single else "(in workers)"
        print(f"| radCAD 0.14.0, {names[variant]}, `experiment.run()` | {wall:.3f} ({listing(rows, 0, 3)}) "
              f"| {cpu_text} | **{wall / run_wall:.0f}×** | "
              + (f"**{cpu / run_cpu:.0f}×**" if single else "–")
              + f" | {wall / proc_wall:.1f}× | "
              + (f"{cpu / proc_cpu:.1f}×" if single else "–") + " |")


if __name__ == "__main__":
    main()
