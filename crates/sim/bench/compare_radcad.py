"""Time the reference model in Groundwork's simulator and in radCAD, in one run, and print ratios.

    cargo build --release -p groundwork-cli
    python3 -m venv /tmp/radcad-venv && /tmp/radcad-venv/bin/pip install radcad==0.14.0 typing_extensions
    /tmp/radcad-venv/bin/python crates/sim/bench/compare_radcad.py [--groundwork PATH] [--repeats 3]

The measurements are interleaved (Groundwork, radCAD NumPy, radCAD agents, Groundwork, ...) so
that a busy machine slows every side alike, and each is a fresh process. What is timed:

* Groundwork: the whole `groundwork sim run bench/reference-model.toml` process, wall clock:
  start-up, parsing, the run, and writing every output file (CSV, JSON, charts, report).
* radCAD: `experiment.run()` alone, as radcad_reference.py reports it (Python start-up, imports
  and building the model are not counted).

Both wall clock and CPU time are reported: on a machine shared with other work the CPU time is
the steadier measure (radCAD's CPU time is only known on one process).

`--runs N` (default 1) runs N Monte Carlo runs on each side: Groundwork's `--runs N` (parallel
over the cores) against radCAD's `runs=N` on its multiprocessing backend with one process per
core (and on a single process). Prints a markdown table of medians.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def groundwork_seconds(binary, runs, out):
    """Wall clock and CPU time (user + system, all threads) of the whole process."""
    command = [binary, "sim", "run", os.path.join(HERE, "reference-model.toml"), "--out", out,
               "--quiet", "--runs", str(runs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def radcad_seconds(style, runs, processes):
    command = [sys.executable, os.path.join(HERE, "radcad_reference.py"), "--style", style,
               "--runs", str(runs), "--processes", str(processes)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main():
    default_binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                  "release", "groundwork")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groundwork", default=default_binary, help="the release binary")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1, help="Monte Carlo runs per measurement")
    parser.add_argument("--styles", default="numpy,agents", help="radCAD styles to time")
    args = parser.parse_args()
    if not os.path.exists(args.groundwork):
        sys.exit(f"no binary at {args.groundwork}: cargo build --release -p groundwork-cli")
    styles = [s for s in args.styles.split(",") if s]
    # With several runs, radCAD is timed on one process and on one per core (its multiprocessing
    # backend pays for pickling; on a busy machine one process can win).
    cores = os.cpu_count() or 1
    variants = [(style, 1) for style in styles]
    if args.runs > 1 and cores > 1:
        variants += [(style, cores) for style in styles]
    names = {v: f"{v[0]}, {v[1]} process(es)" for v in variants}
    times = {"groundwork": []} | {names[v]: [] for v in variants}
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(args.repeats):
            times["groundwork"].append(groundwork_seconds(args.groundwork, args.runs, out))
            for style, processes in variants:
                times[names[(style, processes)]].append(radcad_seconds(style, args.runs, processes))
            print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1][0]:.3f} s ({v[-1][1]:.3f} s CPU)"
                                                        for k, v in times.items()), file=sys.stderr)
    def median(name, index):
        return statistics.median(t[index] for t in times[name])

    def listing(name, index):
        return " / ".join(f"{t[index]:.3f}" for t in times[name])

    ours_wall, ours_cpu = median("groundwork", 0), median("groundwork", 1)
    print(f"| measurement ({args.runs} run(s), median of {args.repeats}) | wall s | radCAD ÷ Groundwork (wall) "
          f"| CPU s | radCAD ÷ Groundwork (CPU) |")
    print("|---|---|---|---|---|")
    print(f"| Groundwork, whole process | {ours_wall:.3f} ({listing('groundwork', 0)}) | "
          f"| {ours_cpu:.3f} ({listing('groundwork', 1)}) | |")
    for variant in variants:
        name = names[variant]
        wall, cpu = median(name, 0), median(name, 1)
        cpu_text = f"{cpu:.3f} ({listing(name, 1)}) | {cpu / ours_cpu:.1f}×" if variant[1] == 1 else "– | –"
        print(f"| radCAD 0.14.0, {name}, `experiment.run()` | {wall:.3f} ({listing(name, 0)}) "
              f"| {wall / ours_wall:.1f}× | {cpu_text} |")


if __name__ == "__main__":
    main()
