"""The reference model of reference-model.toml, written for radCAD, to compare speed.

Same state, same step order and the same formulas as Groundwork's simulator
(crates/sim/src/engine.rs) for this scenario: demand -> burn -> mint -> rewards (50% shared per
device, 50% by served data) -> operators (income, costs, unprofitable streaks, leaving) ->
price (burn-and-mint flows through market depth, with noise) -> joining (log-normal payback
thresholds). The random streams differ from Groundwork's (NumPy's or Python's generator instead
of ChaCha8), so single runs differ; the work per step is the same.

Two ways to write the operators, chosen with --style:

* `numpy`: operators are NumPy arrays, every step is a handful of vectorised operations. The
  fastest way to write this model in Python.
* `agents`: operators are a list of small objects updated in a Python loop, the way agent-based
  radCAD and cadCAD models are usually written.

Both run with radCAD's fastest settings: deepcopy off, substeps dropped, and the operators kept
in one mutable holder so that radCAD's per-step history does not keep a copy of every
operator at every step (it would cost a gigabyte and make radCAD slower). `--runs N` runs N
Monte Carlo runs (radCAD's `runs`), on `--processes P` processes (radCAD's multiprocessing
backend when P > 1).

    python3 -m venv /tmp/radcad-venv && /tmp/radcad-venv/bin/pip install radcad==0.14.0 typing_extensions
    /tmp/radcad-venv/bin/python crates/sim/bench/radcad_reference.py --style numpy

Prints the seconds `experiment.run()` took on stdout, wall clock and CPU time of this process
(imports and model set-up excluded; with --processes > 1 the workers' CPU is not counted), and a
line about the run on stderr.
"""

import argparse
import math
import random
import sys
import time
from functools import partial

import numpy as np
from radcad import Model, Simulation, Experiment
from radcad.engine import Engine, Backend

STEPS = 1825
EMISSION = 10_000.0
INITIAL_OPERATORS, MAX_OPERATORS = 10_000, 20_000
HARDWARE, OPEX, COST_SPREAD = 300.0, 0.3, 0.3
CAPACITY, CAPACITY_SPREAD = 1.0, 0.3
PAYBACK_DAYS, PAYBACK_SPREAD, JOIN_RATE = 365.0, 0.5, 0.01
PATIENCE_DAYS, PATIENCE_SPREAD, SELL, SMOOTHING = 60.0, 0.5, 0.8, 30.0
DEMAND0, GROWTH, SERVICE_PRICE, DEMAND_NOISE = 2_000.0, 0.5, 1.0, 0.05
DEPTH_FRACTION, MIN_DEPTH, PRICE_NOISE = 0.5, 1_000_000.0, 0.03
SEED = 7


class Holder:
    """A mutable box for the operators, so radCAD's history shares one object."""

    def __init__(self, value):
        self.value = value


# ---- the parts both styles share -------------------------------------------------------------


def demand(timestep, capacity, rng_normal):
    years = timestep / 365.0
    noise = math.exp(DEMAND_NOISE * rng_normal() - DEMAND_NOISE**2 / 2)
    wanted = DEMAND0 * math.exp(GROWTH * years) * noise
    served = min(wanted, capacity)
    return {"demand": wanted, "served": served, "revenue": served * SERVICE_PRICE}


def next_price(price, supply, revenue, sold, rng_normal):
    depth = max(DEPTH_FRACTION * supply * price, MIN_DEPTH)
    flow = max(-2.0, min(2.0, (revenue - sold * price) / depth))
    return price * math.exp(flow + PRICE_NOISE * rng_normal() - PRICE_NOISE**2 / 2)


def expected_income(previous, n, capacity, price):
    mean_income = (EMISSION / 2 / max(n, 1) + EMISSION / 2 * CAPACITY / max(capacity, 1e-9)) * price
    net = mean_income - OPEX
    return net if previous is None else previous + min(1.0, 1.0 / SMOOTHING) * (net - previous)


def joiners(count, expected, rng_uniform):
    room = MAX_OPERATORS - count
    if room <= 0 or expected <= 0:
        return 0
    z = (math.log(HARDWARE / expected) - math.log(PAYBACK_DAYS)) / PAYBACK_SPREAD
    accepting = 0.5 * math.erfc(z / math.sqrt(2))
    want = room * JOIN_RATE * accepting
    return min(room, int(want) + (1 if rng_uniform() < want - int(want) else 0))


# ---- NumPy style -----------------------------------------------------------------------------


# Module-level functions and generators: radCAD's multiprocessing backend pickles the model.
NP_RNG = np.random.default_rng(SEED)
PY_RNG = random.Random(SEED)


def numpy_new_operators(count, step):
    rng = NP_RNG
    return {
        "capacity": CAPACITY * np.exp(CAPACITY_SPREAD * rng.standard_normal(count)),
        "cost": OPEX * np.exp(COST_SPREAD * rng.standard_normal(count)),
        "patience": np.clip(np.ceil(PATIENCE_DAYS * np.exp(PATIENCE_SPREAD * rng.standard_normal(count))), 1, 65535),
        "streak": np.zeros(count),
        "balance": np.full(count, -HARDWARE),
        "joined": np.full(count, step),
    }


def start_run(state):
    """Each Monte Carlo run gets its own random streams (processes start as copies)."""
    global NP_RNG
    if state["timestep"] == 0:
        NP_RNG = np.random.default_rng(SEED + state["run"])
        PY_RNG.seed(SEED + state["run"])


def numpy_p_demand(params, substep, history, state):
    start_run(state)
    capacity = state["operators"].value["capacity"].sum()
    return demand(state["timestep"], capacity, NP_RNG.standard_normal)


def numpy_s_world(params, substep, history, state, signal):
    holder = state["operators"]
    ops, price = holder.value, state["price"]
    market, supply = state["market"], state["supply"]
    burned = min(signal["revenue"] / price, market)
    market -= burned
    supply += EMISSION - burned
    n = len(ops["capacity"])
    capacity = ops["capacity"].sum()
    uptime_pool, data_pool = EMISSION / 2, EMISSION / 2
    rewards = (uptime_pool / n if n else 0.0) + (data_pool * ops["capacity"] / capacity if capacity else 0.0)
    paid = rewards.sum() if n else 0.0
    treasury = state["treasury"] + (EMISSION - paid)
    sold = paid * SELL
    market += sold
    profit = rewards * price - ops["cost"]
    ops["balance"] = ops["balance"] + profit
    ops["streak"] = np.where(profit >= 0, 0, ops["streak"] + 1)
    keep = ops["streak"] < ops["patience"]
    left = int(n - keep.sum())
    ops = {k: v[keep] for k, v in ops.items()}
    price_after = next_price(price, supply, signal["revenue"], sold, NP_RNG.standard_normal)
    expected = expected_income(state["expected"], n, capacity, price)
    joined = joiners(len(ops["capacity"]), expected, NP_RNG.random)
    if joined:
        fresh = numpy_new_operators(joined, state["timestep"] + 1)
        ops = {k: np.concatenate([ops[k], fresh[k]]) for k in ops}
    holder.value = ops
    return {
        "price": price_after, "market": market, "supply": supply, "treasury": treasury,
        "expected": expected, "left": left, "joined": joined, "revenue": signal["revenue"],
        "held": state["held"] + paid - sold, "operators_online": len(ops["capacity"]),
    }


# ---- agent style -----------------------------------------------------------------------------


class Operator:
    __slots__ = ("capacity", "cost", "patience", "streak", "balance", "joined")

    def __init__(self, rng, step):
        self.capacity = CAPACITY * math.exp(CAPACITY_SPREAD * rng.gauss(0.0, 1.0))
        self.cost = OPEX * math.exp(COST_SPREAD * rng.gauss(0.0, 1.0))
        patience = math.ceil(PATIENCE_DAYS * math.exp(PATIENCE_SPREAD * rng.gauss(0.0, 1.0)))
        self.patience = min(max(patience, 1), 65535)
        self.streak = 0
        self.balance = -HARDWARE
        self.joined = step


def normal():
    return PY_RNG.gauss(0.0, 1.0)


def agents_p_demand(params, substep, history, state):
    start_run(state)
    capacity = sum(op.capacity for op in state["operators"].value)
    return demand(state["timestep"], capacity, normal)


def agents_s_world(params, substep, history, state, signal):
    holder = state["operators"]
    ops, price = holder.value, state["price"]
    market, supply = state["market"], state["supply"]
    burned = min(signal["revenue"] / price, market)
    market -= burned
    supply += EMISSION - burned
    n = len(ops)
    capacity = sum(op.capacity for op in ops)
    uptime_share = EMISSION / 2 / n if n else 0.0
    data_share = EMISSION / 2 / capacity if capacity else 0.0
    paid = 0.0
    stay = []
    for op in ops:
        reward = uptime_share + data_share * op.capacity
        paid += reward
        profit = reward * price - op.cost
        op.balance += profit
        op.streak = 0 if profit >= 0 else op.streak + 1
        if op.streak < op.patience:
            stay.append(op)
    left = n - len(stay)
    treasury = state["treasury"] + (EMISSION - paid)
    sold = paid * SELL
    market += sold
    price_after = next_price(price, supply, signal["revenue"], sold, normal)
    expected = expected_income(state["expected"], n, capacity, price)
    joined = joiners(len(stay), expected, PY_RNG.random)
    stay.extend(Operator(PY_RNG, state["timestep"] + 1) for _ in range(joined))
    holder.value = stay
    return {
        "price": price_after, "market": market, "supply": supply, "treasury": treasury,
        "expected": expected, "left": left, "joined": joined, "revenue": signal["revenue"],
        "held": state["held"] + paid - sold, "operators_online": len(stay),
    }


STYLES = {
    "numpy": (lambda: numpy_new_operators(INITIAL_OPERATORS, 0), numpy_p_demand, numpy_s_world),
    "agents": (lambda: [Operator(PY_RNG, 0) for _ in range(INITIAL_OPERATORS)], agents_p_demand,
               agents_s_world),
}


# ---- radCAD wiring ---------------------------------------------------------------------------

KEYS = ["price", "market", "supply", "treasury", "expected", "left", "joined", "revenue", "held",
        "operators_online"]


# One state update computes the step (it needs the old values of every variable); the others
# copy its result into their variables, as radCAD wants one function per variable.
def compute_world(s_world, params, substep, history, state, signal):
    return "_world", s_world(params, substep, history, state, signal)


def copy_from_world(key, params, substep, history, state, signal):
    return key, state["_world"][key]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--style", choices=["numpy", "agents"], default="numpy")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()

    make_operators, p_demand, s_world = STYLES[args.style]
    world = partial(compute_world, s_world)
    initial = {
        "operators": Holder(make_operators()), "price": 1.0, "market": 10_000_000.0,
        "supply": 10_000_000.0, "treasury": 0.0, "expected": None, "left": 0, "joined": 0,
        "revenue": 0.0, "held": 0.0, "operators_online": INITIAL_OPERATORS, "_world": None,
    }
    blocks = [
        {"policies": {"demand": p_demand}, "variables": {"_world": world}},
        {"policies": {}, "variables": {k: partial(copy_from_world, k) for k in KEYS}},
    ]
    model = Model(initial_state=initial, state_update_blocks=blocks, params={})
    simulation = Simulation(model=model, timesteps=STEPS, runs=args.runs)
    experiment = Experiment([simulation])
    backend = Backend.SINGLE_PROCESS if args.processes <= 1 else Backend.MULTIPROCESSING
    experiment.engine = Engine(backend=backend, processes=max(1, args.processes), deepcopy=False,
                               drop_substeps=True)
    start, start_cpu = time.perf_counter(), time.process_time()
    result = experiment.run()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    last = result[-1]
    steps = sum(1 for row in result if row["timestep"] > 0)
    print(f"radcad ({args.style}, {args.runs} run(s), {args.processes} process(es)): {steps} steps "
          f"in all, final operators {last['operators_online']}, price {last['price']:.4f}, "
          f"supply {last['supply']:.0f}: {elapsed:.3f} s ({cpu:.3f} s CPU in this process)",
          file=sys.stderr)
    print(f"{elapsed:.6f} {cpu:.6f}")


if __name__ == "__main__":
    main()
