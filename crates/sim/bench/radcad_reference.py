"""The reference model of reference-model.toml, written for radCAD, to compare speed.

Same state, same step order and the same formulas as Groundwork's simulator
(crates/sim/src/engine.rs) for this scenario: demand -> burn -> mint -> rewards (50% shared per
device, 50% by served data) -> operators (income, costs, unprofitable streaks, leaving) ->
price (burn-and-mint flows through market depth, with noise) -> joining (log-normal payback
thresholds). Operators are numpy arrays (the fastest way to write this in Python); radCAD runs
with deepcopy off and a single process, its fastest settings.

    python3 -m venv /tmp/radcad-venv && /tmp/radcad-venv/bin/pip install radcad==0.14.0 typing_extensions
    /tmp/radcad-venv/bin/python crates/sim/bench/radcad_reference.py
"""

import math
import sys
import time

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

rng = np.random.default_rng(7)


def new_operators(count, step):
    return {
        "capacity": CAPACITY * np.exp(CAPACITY_SPREAD * rng.standard_normal(count)),
        "cost": OPEX * np.exp(COST_SPREAD * rng.standard_normal(count)),
        "patience": np.clip(np.ceil(PATIENCE_DAYS * np.exp(PATIENCE_SPREAD * rng.standard_normal(count))), 1, 65535),
        "streak": np.zeros(count),
        "balance": np.full(count, -HARDWARE),
        "joined": np.full(count, step),
    }


def concat(a, b):
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def p_demand(params, substep, history, state):
    years = state["timestep"] / 365.0
    demand = DEMAND0 * math.exp(GROWTH * years) * math.exp(DEMAND_NOISE * rng.standard_normal() - DEMAND_NOISE**2 / 2)
    capacity = state["operators"]["capacity"].sum()
    served = min(demand, capacity)
    return {"demand": demand, "served": served, "revenue": served * SERVICE_PRICE}


def s_market_and_operators(params, substep, history, state, signal):
    ops, price = state["operators"], state["price"]
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
    income = rewards * price
    profit = income - ops["cost"]
    before = ops["balance"]
    ops["balance"] = before + profit
    ops["streak"] = np.where(profit >= 0, 0, ops["streak"] + 1)
    keep = ops["streak"] < ops["patience"]
    left = int(n - keep.sum())
    ops = {k: v[keep] for k, v in ops.items()}
    # price
    depth = max(DEPTH_FRACTION * supply * price, MIN_DEPTH)
    flow = max(-2.0, min(2.0, (signal["revenue"] - sold * price) / depth))
    next_price = price * math.exp(flow + PRICE_NOISE * rng.standard_normal() - PRICE_NOISE**2 / 2)
    # joining
    mean_income = (uptime_pool / max(n, 1) + data_pool * CAPACITY / max(capacity, 1e-9)) * price
    net = mean_income - OPEX
    previous = state["expected"]
    expected = net if previous is None else previous + min(1.0, 1.0 / SMOOTHING) * (net - previous)
    joined = 0
    room = MAX_OPERATORS - len(ops["capacity"])
    if room > 0 and expected > 0:
        z = (math.log(HARDWARE / expected) - math.log(PAYBACK_DAYS)) / PAYBACK_SPREAD
        accepting = 0.5 * math.erfc(z / math.sqrt(2))
        want = room * JOIN_RATE * accepting
        joined = min(room, int(want) + (1 if rng.random() < want - int(want) else 0))
        if joined:
            ops = concat(ops, new_operators(joined, state["timestep"] + 1))
    return "world", {
        "operators": ops, "price": next_price, "market": market, "supply": supply,
        "treasury": treasury, "expected": expected, "left": left, "joined": joined,
        "revenue": signal["revenue"], "held": state["held"] + paid - sold,
    }


def s_all(params, substep, history, state, signal):
    return "_world", s_market_and_operators(params, substep, history, state, signal)[1]


def unpack(key):
    def update(params, substep, history, state, signal):
        return key, state["_world"][key]
    return update


KEYS = ["operators", "price", "market", "supply", "treasury", "expected", "left", "joined", "revenue", "held"]


def main():
    initial = {
        "operators": new_operators(INITIAL_OPERATORS, 0), "price": 1.0, "market": 10_000_000.0,
        "supply": 10_000_000.0, "treasury": 0.0, "expected": None, "left": 0, "joined": 0,
        "revenue": 0.0, "held": 0.0, "_world": None,
    }
    blocks = [
        {"policies": {"demand": p_demand}, "variables": {"_world": s_all}},
        {"policies": {}, "variables": {k: unpack(k) for k in KEYS}},
    ]
    model = Model(initial_state=initial, state_update_blocks=blocks, params={})
    simulation = Simulation(model=model, timesteps=STEPS, runs=1)
    experiment = Experiment([simulation])
    experiment.engine = Engine(backend=Backend.SINGLE_PROCESS, deepcopy=False, drop_substeps=True)
    start = time.perf_counter()
    result = experiment.run()
    elapsed = time.perf_counter() - start
    last = result[-1]
    print(f"radcad: {STEPS} steps, final operators {len(last['operators']['capacity'])}, "
          f"price {last['price']:.4f}, supply {last['supply']:.0f}: {elapsed:.3f} s", file=sys.stderr)
    print(f"{elapsed:.6f}")


if __name__ == "__main__":
    main()
