"""The small network model of small-model.toml, written for radCAD 0.14.0 as radCAD's docs show.

State variables, policies and state update functions, one partial state update block per stage
of Groundwork's step (crates/sim/src/engine.rs), in the same order and with the same formulas:

1. demand: potential demand x log-normal noise, served up to the operators' capacity, paid for
   in full by burning tokens;
2. burn and mint: the users' payment burns tokens from the market; 20,000 tokens are minted;
   half is shared equally by the devices, half by served data (here by capacity); operators
   sell 80% of what they earn;
3. operators: income and costs; a run of 30 unprofitable days makes an operator leave; the
   smoothed expected income of a new device;
4. price: burn-and-mint flows (users' buying, operators' selling) through market depth, with
   log-normal noise;
5. joining: the share of prospects whose accepted payback (log-normal around 365 days) is
   longer than a device's, 1% of the remaining room a day, stochastically rounded.

Operators are identical (the scenario has no spreads), so the model holds them as counts: a
tuple of (unprofitable streak, operators) cohorts. Within a step every operator earns the same,
so a profitable day resets every streak and an unprofitable day adds one to each.

Random numbers, three draws per step in Groundwork's order (a normal for demand, a normal for
the price, a uniform for joining; normals by Box-Muller from two uniforms):

* `--rng fast` (default, for timing): Python's own generator, `random.Random(seed).random`.
* `--rng chacha`: a port of the generator Groundwork uses (rand_chacha's ChaCha8, seeded by
  `seed_from_u64`), so that a run reproduces Groundwork's run with the same seed; used by
  `--check`.

    /tmp/radcad-venv/bin/python crates/sim/bench/radcad_small.py [--runs 8] [--processes 2]
    /tmp/radcad-venv/bin/python crates/sim/bench/radcad_small.py --check GROUNDWORK [--runs 4]

Prints the seconds `experiment.run()` took on stdout (wall clock, CPU time of this process;
imports and model set-up are not counted) and a line about the run on stderr. `--check BINARY`
instead runs Groundwork's `sim run` for seeds 11, 12, ... and compares every step of every run.
"""

import argparse
import csv
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from functools import partial

from radcad import Model, Simulation, Experiment
from radcad.engine import Engine, Backend

HERE = os.path.dirname(os.path.abspath(__file__))

STEPS = 1825
SEED = 11
INITIAL_SUPPLY = 50_000_000.0
EMISSION = 20_000.0  # tokens a day
UPTIME_SHARE, DATA_SHARE = 0.5, 0.5
HARDWARE, OPEX, CAPACITY = 400.0, 0.5, 10.0
INITIAL_OPERATORS, MAX_OPERATORS = 300, 1_000
PAYBACK_DAYS, PAYBACK_SPREAD, JOIN_RATE = 365.0, 0.5, 0.01
PATIENCE, SELL, SMOOTHING = 30, 0.8, 30.0
DEMAND0, GROWTH, SERVICE_PRICE, DEMAND_NOISE = 500.0, 0.8, 1.0, 0.1
PRICE0, DEPTH_FRACTION, MIN_DEPTH, PRICE_NOISE = 0.05, 0.5, 200_000.0, 0.03
DAYS_PER_YEAR = 365.0


# ---- random numbers --------------------------------------------------------------------------

MASK32, MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def _rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & MASK32


class ChaCha8:
    """rand_chacha's ChaCha8Rng (64-bit block counter, stream 0), seeded like `seed_from_u64`."""

    def __init__(self, seed):
        state, key = seed & MASK64, []
        for _ in range(8):  # rand_core's PCG32 fills the 32-byte seed, 4 bytes at a time
            state = (state * 6364136223846793005 + 11634580027462260723) & MASK64
            xorshifted = (((state >> 18) ^ state) >> 27) & MASK32
            rot = state >> 59
            key.append(((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & MASK32)
        self.key, self.counter, self.buffer, self.index = key, 0, [], 0

    def _block(self, counter):
        s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *self.key,
             counter & MASK32, counter >> 32, 0, 0]
        x = list(s)
        for _ in range(4):  # 8 rounds: 4 double rounds
            for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                               (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
                x[a] = (x[a] + x[b]) & MASK32; x[d] = _rotl(x[d] ^ x[a], 16)
                x[c] = (x[c] + x[d]) & MASK32; x[b] = _rotl(x[b] ^ x[c], 12)
                x[a] = (x[a] + x[b]) & MASK32; x[d] = _rotl(x[d] ^ x[a], 8)
                x[c] = (x[c] + x[d]) & MASK32; x[b] = _rotl(x[b] ^ x[c], 7)
        return [(x[i] + s[i]) & MASK32 for i in range(16)]

    def next_u64(self):
        if self.index >= len(self.buffer):
            self.buffer = [w for i in range(4) for w in self._block(self.counter + i)]
            self.counter, self.index = self.counter + 4, 0
        lo, hi = self.buffer[self.index], self.buffer[self.index + 1]
        self.index += 2
        return (hi << 32) | lo

    def random(self):
        """53 random bits in [0, 1), as Groundwork's `uniform`."""
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


def make_rng(kind, seed):
    return ChaCha8(seed).random if kind == "chacha" else random.Random(seed).random


def normal(uniform):
    """Box-Muller, one draw per call (Groundwork's `normal`)."""
    u1 = max(uniform(), sys.float_info.min)
    u2 = uniform()
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


# Each Monte Carlo run draws from its own generator, seeded SEED + run - 1 (radCAD numbers runs
# from 1; Groundwork's run i uses seed + i). Module level: the multiprocessing backend pickles
# the model, and each worker process makes the generators of the runs it plays.
RNG_KIND = "fast"
RNGS = {}


def rng(state):
    run = state["run"]
    if run not in RNGS:
        RNGS[run] = make_rng(RNG_KIND, SEED + run - 1)
    return RNGS[run]


# ---- policies --------------------------------------------------------------------------------


def p_demand(params, substep, history, state):
    # Policies see the state the step starts from: timestep t-1 while radCAD plays timestep t,
    # which is Groundwork's step number (its steps count from 0).
    years = state["timestep"] / DAYS_PER_YEAR
    noise = math.exp(DEMAND_NOISE * normal(rng(state)) - DEMAND_NOISE * DEMAND_NOISE / 2.0)
    demand = DEMAND0 * math.exp(GROWTH * years) * noise
    capacity = state["operators"] * CAPACITY
    served = max(min(demand, capacity), 0.0)
    return {"demand": demand, "revenue": served * SERVICE_PRICE}


def p_burn_mint_reward(params, substep, history, state):
    burned = min(state["revenue"] / state["price"], state["market"])
    n = state["operators"]
    uptime_pool, data_pool = EMISSION * UPTIME_SHARE, EMISSION * DATA_SHARE
    per_device = uptime_pool / n if n else 0.0
    per_capacity = data_pool / (n * CAPACITY) if n and state["revenue"] > 0 else 0.0
    paid = n * (per_device + per_capacity * CAPACITY)
    return {"burned": burned, "minted": EMISSION, "paid": paid, "sold": paid * SELL,
            "reward_per_device": per_device + per_capacity * CAPACITY}


def p_operators(params, substep, history, state):
    price, n = state["price"], state["operators"]
    income = state["reward_per_device"] * price
    profit = income - OPEX
    if profit < 0:
        cohorts = [(streak + 1, count) for streak, count in state["cohorts"]]
    else:
        cohorts = [(0, n)] if n else []
    left = sum(count for streak, count in cohorts if streak >= PATIENCE)
    cohorts = tuple((streak, count) for streak, count in cohorts if streak < PATIENCE)
    alpha = min(1.0, 1.0 / max(SMOOTHING, 1.0))
    if n > 0:
        net = income - OPEX
    else:  # nobody yet: a first device would share the whole emission
        net = EMISSION * price / (n - left + 1.0) - OPEX
    previous = state["expected_income"]
    expected = net if previous is None else previous + alpha * (net - previous)
    return {"cohorts": cohorts, "left": left, "expected_income": expected}


def p_price(params, substep, history, state):
    price, supply = state["price"], state["supply"]
    depth = max(DEPTH_FRACTION * supply * price, MIN_DEPTH, 1.0)
    flow = max(-2.0, min(2.0, (state["revenue"] - state["sold"] * price) / depth))
    shock = PRICE_NOISE * normal(rng(state)) - PRICE_NOISE * PRICE_NOISE / 2.0
    return {"price": min(max(price * math.exp(flow + shock), 1e-12), 1e12)}


def p_join(params, substep, history, state):
    current = sum(count for _, count in state["cohorts"])
    room, expected = MAX_OPERATORS - current, state["expected_income"]
    if room <= 0 or expected is None or expected <= 0:
        return {"joined": 0}
    payback = HARDWARE / expected
    z = (math.log(max(payback, 1e-9)) - math.log(PAYBACK_DAYS)) / PAYBACK_SPREAD
    accepting = 0.5 * math.erfc(z / math.sqrt(2.0))
    want = room * min(JOIN_RATE, 1.0) * accepting
    whole = math.floor(want)
    extra = 1 if rng(state)() < want - whole else 0
    return {"joined": min(int(whole) + extra, room)}


# ---- state update functions ------------------------------------------------------------------


def copy_signal(key, params, substep, history, state, signal):
    return key, signal[key]


def replace(key):
    """The state update that takes the signal's value of `key` as the variable's new value
    (a partial of a module-level function, which the multiprocessing backend can pickle)."""
    return partial(copy_signal, key)


def s_supply(params, substep, history, state, signal):
    return "supply", state["supply"] - signal["burned"] + signal["minted"]


def s_market(params, substep, history, state, signal):
    return "market", state["market"] - signal["burned"] + signal["sold"]


def s_held(params, substep, history, state, signal):
    return "held", state["held"] + signal["paid"] - signal["sold"]


def s_treasury(params, substep, history, state, signal):
    return "treasury", state["treasury"] + signal["minted"] - signal["paid"]


def s_operators_after_leaving(params, substep, history, state, signal):
    return "operators", state["operators"] - signal["left"]


def s_cohorts_joined(params, substep, history, state, signal):
    cohorts = state["cohorts"]
    return "cohorts", cohorts + ((0, signal["joined"]),) if signal["joined"] else cohorts


def s_operators_joined(params, substep, history, state, signal):
    return "operators", state["operators"] + signal["joined"]


# Module level, so that the multiprocessing backend can pickle them.
s_demand, s_revenue = replace("demand"), replace("revenue")
s_burned, s_sold, s_reward = replace("burned"), replace("sold"), replace("reward_per_device")
s_cohorts, s_left, s_expected = replace("cohorts"), replace("left"), replace("expected_income")
s_price, s_joined = replace("price"), replace("joined")

INITIAL_STATE = {
    "demand": 0.0, "revenue": 0.0, "burned": 0.0, "sold": 0.0, "reward_per_device": 0.0,
    "supply": INITIAL_SUPPLY, "market": INITIAL_SUPPLY, "held": 0.0, "treasury": 0.0,
    "price": PRICE0, "operators": INITIAL_OPERATORS, "cohorts": ((0, INITIAL_OPERATORS),),
    "left": 0, "joined": 0, "expected_income": None,
}

STATE_UPDATE_BLOCKS = [
    {"policies": {"demand": p_demand},
     "variables": {"demand": s_demand, "revenue": s_revenue}},
    {"policies": {"burn_mint_reward": p_burn_mint_reward},
     "variables": {"supply": s_supply, "market": s_market, "held": s_held,
                   "treasury": s_treasury, "burned": s_burned, "sold": s_sold,
                   "reward_per_device": s_reward}},
    {"policies": {"operators": p_operators},
     "variables": {"cohorts": s_cohorts, "left": s_left, "expected_income": s_expected,
                   "operators": s_operators_after_leaving}},
    {"policies": {"price": p_price}, "variables": {"price": s_price}},
    {"policies": {"join": p_join},
     "variables": {"joined": s_joined, "cohorts": s_cohorts_joined,
                   "operators": s_operators_joined}},
]


def run(runs, processes):
    model = Model(initial_state=dict(INITIAL_STATE), state_update_blocks=STATE_UPDATE_BLOCKS,
                  params={})
    simulation = Simulation(model=model, timesteps=STEPS, runs=runs)
    experiment = Experiment([simulation])
    backend = Backend.SINGLE_PROCESS if processes <= 1 else Backend.MULTIPROCESSING
    # radCAD's fastest settings: no deep copies of the state, only each step's last substep.
    experiment.engine = Engine(backend=backend, processes=max(1, processes), deepcopy=False,
                               drop_substeps=True)
    start, start_cpu = time.perf_counter(), time.process_time()
    result = experiment.run()
    return result, time.perf_counter() - start, time.process_time() - start_cpu


# ---- checking against Groundwork -------------------------------------------------------------


def close(a, b, relative, absolute=0.0):
    return abs(a - b) <= max(relative * max(abs(a), abs(b)), absolute)


def check(binary, runs):
    """Play each run in Groundwork (same seed) and compare every step; exit 1 on a difference."""
    global RNG_KIND
    RNG_KIND = "chacha"
    RNGS.clear()
    result, _, _ = run(runs, 1)
    worst = {}
    failures = 0
    for run_index in range(1, runs + 1):
        seed = SEED + run_index - 1
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([binary, "sim", "run", os.path.join(HERE, "small-model.toml"),
                            "--out", out, "--quiet", "--seed", str(seed)],
                           check=True, stdout=subprocess.DEVNULL)
            with open(os.path.join(out, "timeseries.csv"), newline="") as f:
                ours = list(csv.DictReader(f))
        theirs = [r for r in result if r["run"] == run_index and r["timestep"] > 0]
        assert len(ours) == len(theirs) == STEPS, (len(ours), len(theirs))
        for step, (g, r) in enumerate(zip(ours, theirs)):
            after = ours[step + 1] if step + 1 < STEPS else None
            pairs = [
                ("demand", float(g["demand"]), r["demand"], 1e-12, 0.0),
                ("supply", float(g["supply"]), r["supply"], 1e-9, 1e-6),
                ("burned", float(g["burned"]), r["burned"], 1e-9, 1e-6),
                ("left", int(g["left"]), r["left"], 0.0, 0.0),
                ("joined", int(g["joined"]), r["joined"], 0.0, 0.0),
                # Groundwork's treasury collects the base units lost to integer division.
                ("treasury", float(g["treasury"]), r["treasury"], 0.0, 1.0),
            ]
            if after is not None:  # Groundwork's rows give the price and count a step begins with
                pairs += [("token_price_usd", float(after["token_price_usd"]), r["price"], 1e-9, 0.0),
                          ("operators", int(after["operators"]), r["operators"], 0.0, 0.0)]
            for name, a, b, rel, absolute in pairs:
                gap = abs(a - b) / max(abs(a), abs(b), 1e-300) if rel else abs(a - b)
                worst[name] = max(worst.get(name, 0.0), gap)
                if not close(a, b, rel, absolute):
                    failures += 1
                    if failures <= 10:
                        print(f"seed {seed} step {step}: {name} Groundwork {a!r} radCAD {b!r}",
                              file=sys.stderr)
        print(f"seed {seed}: {STEPS} steps compared; final operators {theirs[-1]['operators']}, "
              f"supply {theirs[-1]['supply']:.2f} (Groundwork {float(ours[-1]['supply']):.2f}), "
              f"price {theirs[-1]['price']:.6f}", file=sys.stderr)
    print("largest gap per variable (relative; absolute for counts and treasury): "
          + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()), file=sys.stderr)
    if failures:
        sys.exit(f"{failures} differences")
    print(f"radCAD and Groundwork agree on every step of {runs} run(s)", file=sys.stderr)


def main():
    global RNG_KIND
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--rng", choices=["fast", "chacha"], default="fast")
    parser.add_argument("--check", metavar="GROUNDWORK", help="compare with Groundwork's runs")
    args = parser.parse_args()
    if args.check:
        check(args.check, args.runs)
        return
    RNG_KIND = args.rng
    result, elapsed, cpu = run(args.runs, args.processes)
    last = result[-1]
    steps = sum(1 for row in result if row["timestep"] > 0)
    print(f"radcad small model ({args.runs} run(s), {args.processes} process(es), {args.rng} rng): "
          f"{steps} steps in all, final operators {last['operators']}, price {last['price']:.4f}, "
          f"supply {last['supply']:.0f}: {elapsed:.3f} s ({cpu:.3f} s CPU in this process)",
          file=sys.stderr)
    print(f"{elapsed:.6f} {cpu:.6f}")


if __name__ == "__main__":
    main()
