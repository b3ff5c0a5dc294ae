//! `groundwork sim …`: the command-line arguments and what they do. The binary only forwards.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ensemble::{Sweep, run_variants, variants};
use crate::error::{Result, SimError};
use crate::output::{write_ensemble, write_sweep};
use crate::scenario::Scenario;
use crate::schedule::{self, CapacityAssumption};

/// `groundwork sim …`
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run a scenario: time series, charts and a sustainability report in --out.
    Run(RunArgs),
    /// Print an emission schedule: every K-th epoch's emission and the cumulative emission.
    Schedule(ScheduleArgs),
}

/// `groundwork sim run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (see crates/sim/scenarios/).
    pub scenario: PathBuf,
    /// Folder for the outputs (created if missing).
    #[arg(long, default_value = "sim-out")]
    pub out: PathBuf,
    /// Seed of the first run (default: the scenario's `seed`); run i uses seed + i.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Monte Carlo runs per variant.
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// A parameter sweep, KEY=V1,V2,… with KEY a dotted path in the scenario
    /// (e.g. emission_scale=0.5,1,2 or demand.elasticity=0,0.5); repeat for a grid.
    #[arg(long)]
    pub sweep: Vec<String>,
    /// Set one scenario value, KEY=VALUE (repeatable).
    #[arg(long = "set")]
    pub overrides: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also print how long the simulation itself took (wall and CPU seconds, outputs not
    /// included). With the global `--output json` the timings are always in the report.
    #[arg(long)]
    pub timings: bool,
}

/// Schedule output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleFormat {
    /// `epoch,emission,cumulative` with a header.
    Csv,
    /// An array of objects.
    Json,
}

/// Capacity assumed for baseline minting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CapacityArg {
    /// The network keeps up with the baseline.
    Baseline,
    /// No capacity at all.
    Zero,
}

/// `groundwork sim schedule`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["genesis", "preset"])))]
pub struct ScheduleArgs {
    /// A genesis or parameters file (JSON or TOML) holding the tokenomics parameters.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// A preset: filecoin-simple, filecoin, helium-hnt, wireless, storage, sensors.
    #[arg(long)]
    pub preset: Option<String>,
    /// Print epochs below this.
    #[arg(long)]
    pub epochs: u64,
    /// Print every K-th epoch.
    #[arg(long, default_value_t = 1)]
    pub step: u64,
    /// csv or json (the global `--output json` also selects JSON).
    #[arg(long, value_enum, default_value_t = ScheduleFormat::Csv)]
    pub format: ScheduleFormat,
    /// Capacity seen by baseline curves (Filecoin's baseline minting).
    #[arg(long, value_enum, default_value_t = CapacityArg::Baseline)]
    pub capacity: CapacityArg,
}

/// Run a `sim` command; `json_output` is the binary's global `--output json`.
pub fn run(command: SimCommand, json_output: bool) -> Result<()> {
    match command {
        SimCommand::Run(args) => run_scenario(args, json_output),
        SimCommand::Schedule(args) => {
            let format = if json_output {
                ScheduleFormat::Json
            } else {
                args.format
            };
            let text = schedule_text(&args, format)?;
            print_out(&text)
        }
    }
}

fn print_out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| SimError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

/// The text `groundwork sim schedule` prints.
pub fn schedule_text(args: &ScheduleArgs, format: ScheduleFormat) -> Result<String> {
    let named = match (&args.genesis, &args.preset) {
        (Some(path), _) => schedule::from_file(path)?,
        (None, Some(name)) => schedule::preset(name)?,
        (None, None) => return Err(SimError::UnknownPreset(String::new())),
    };
    let capacity = match args.capacity {
        CapacityArg::Baseline => CapacityAssumption::AtBaseline,
        CapacityArg::Zero => CapacityAssumption::Zero,
    };
    let rows = schedule::rows(&named, args.epochs, args.step, capacity)?;
    match format {
        ScheduleFormat::Csv => Ok(schedule::to_csv(&rows)),
        ScheduleFormat::Json => schedule::to_json(&rows),
    }
}

fn run_scenario(args: RunArgs, json_output: bool) -> Result<()> {
    let mut scenario = Scenario::load(&args.scenario)?;
    for text in &args.overrides {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| SimError::Sweep(text.clone()))?;
        scenario = scenario.with_override(key.trim(), value.trim())?;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let sweeps = args
        .sweep
        .iter()
        .map(|s| Sweep::parse(s))
        .collect::<Result<Vec<_>>>()?;
    let variants = variants(&scenario, &sweeps)?;
    let runs = args.runs.max(1);
    let total = variants.len() as u64 * u64::from(runs) * u64::from(scenario.steps);
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} steps {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    };
    let run_clock = Stopwatch::start();
    let ensembles = run_variants(&variants, seed, runs, &|done| bar.inc(done))?;
    let run_time = run_clock.stop();
    bar.finish_and_clear();
    let write_clock = Stopwatch::start();
    let report = if sweeps.is_empty() {
        match ensembles.first() {
            Some(ensemble) => write_ensemble(&args.out, ensemble, seed)?,
            None => return Ok(()),
        }
    } else {
        write_sweep(&args.out, &ensembles, seed)?
    };
    let write_time = write_clock.stop();
    let verdicts: Vec<String> = ensembles
        .iter()
        .map(|e| {
            let verdict = if e.runs.len() == 1 {
                e.runs
                    .first()
                    .map(|r| r.summary.verdict.clone())
                    .unwrap_or_default()
            } else {
                crate::output::ensemble_summary(e).verdict
            };
            if e.label.is_empty() {
                verdict
            } else {
                format!("[{}] {verdict}", e.label)
            }
        })
        .collect();
    let text = if json_output {
        let mut text = serde_json::to_string_pretty(&serde_json::json!({
            "report": report.display().to_string(),
            "out": args.out.display().to_string(),
            "verdicts": verdicts,
            "run_seconds": run_time.wall,
            "run_cpu_seconds": run_time.cpu,
            "write_seconds": write_time.wall,
        }))?;
        text.push('\n');
        text
    } else {
        let mut text = format!("{}\nreport: {}\n", verdicts.join("\n"), report.display());
        if args.timings {
            let cpu = run_time
                .cpu
                .map_or_else(|| "unknown".to_owned(), |cpu| format!("{cpu:.6} s"));
            text.push_str(&format!(
                "run: {:.6} s wall, {cpu} CPU; outputs written in {:.6} s\n",
                run_time.wall, write_time.wall
            ));
        }
        text
    };
    print_out(&text)
}

/// Wall clock and CPU time (all threads of the process) over a stretch of work.
struct Stopwatch {
    wall: std::time::Instant,
    cpu: Option<f64>,
}

/// What a [`Stopwatch`] measured, in seconds.
struct Elapsed {
    wall: f64,
    /// `None` where the process's CPU clock cannot be read.
    cpu: Option<f64>,
}

impl Stopwatch {
    fn start() -> Self {
        Stopwatch {
            wall: std::time::Instant::now(),
            cpu: process_cpu_seconds(),
        }
    }

    fn stop(self) -> Elapsed {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = self
            .cpu
            .zip(process_cpu_seconds())
            .map(|(before, after)| (after - before).max(0.0));
        Elapsed { wall, cpu }
    }
}

/// CPU seconds used so far by the threads of this process, from the scheduler's per-thread
/// run time in `/proc/self/task/*/sched` (microsecond resolution; `/proc/self/stat` counts
/// only 10 ms ticks). Threads that have exited are no longer counted, so a [`Stopwatch`] is
/// exact as long as no thread ends inside it (rayon's pool lives as long as the process).
#[cfg(target_os = "linux")]
fn process_cpu_seconds() -> Option<f64> {
    let mut total_ms = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("sched")) else {
            continue; // the thread ended meanwhile
        };
        let runtime = text
            .lines()
            .find_map(|line| line.strip_prefix("se.sum_exec_runtime"))?;
        total_ms += runtime
            .trim_start_matches([' ', ':'])
            .trim()
            .parse::<f64>()
            .ok()?;
    }
    Some(total_ms / 1000.0)
}

/// CPU seconds used so far by this process (not read on this platform).
#[cfg(not(target_os = "linux"))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_stopwatch_counts_the_cpu_time_of_work_done_while_it_runs() {
        let clock = Stopwatch::start();
        let mut x = 1u64;
        let mut spins = 0u64;
        let busy = std::time::Instant::now();
        while busy.elapsed().as_millis() < 50 {
            for i in 0..10_000u64 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
            }
            spins += 1;
        }
        let elapsed = clock.stop();
        std::hint::black_box((x, spins));
        assert!(elapsed.wall >= 0.05, "wall {}", elapsed.wall);
        let cpu = elapsed.cpu.expect("the CPU clock is readable on Linux");
        // Busy for 50 ms of wall clock: some of it on a CPU, never more than wall clock allows
        // for the one thread that worked (plus the test harness's idle threads).
        assert!(
            cpu > 0.0 && cpu <= elapsed.wall * 2.0 + 0.01,
            "cpu {cpu}, wall {}",
            elapsed.wall
        );
    }
}
