//! The comparative study: every workload on filch, tokio and smol, interleaved, at several worker
//! counts, with a report, every sample as CSV, and SVG charts.
//!
//! ```sh
//! cargo bench --bench study --features hyper                 # full study (worker counts 1, 2, 4, … up to the cores)
//! cargo bench --bench study --features hyper -- --quick      # about 3 minutes on 2 cores
//! cargo bench --bench study -- --workers 2 --samples 20 --only spawn,timers
//! ```
//!
//! `--features hyper` (filch's hyper support) adds the `http_hello` workload, hyper on each
//! runtime; without it the study runs every other workload and says that it skipped that one.
//!
//! Method: for each worker count, one runtime of each kind is built with that many workers and
//! kept for the whole count. Each workload runs once untimed on each runtime (warm-up), then
//! `samples` rounds in which the runtimes take turns (filch, tokio, smol, filch, …), so that drift
//! on a shared machine hits all of them alike. Every sample is kept; the report shows medians,
//! the ratio of the medians, and the spread of the ratios of the paired samples of each round.
//! All runtimes live in one process: same allocator (the system one), same build profile (the
//! `bench` profile: release with debug info).
//!
//! `--timeline DIR` records one more filch run of each workload and writes it to `DIR` as Chrome
//! trace JSON (for Perfetto) and as an SVG (`timeline.rs`).
//!
//! Output in `target/study/`: `REPORT.md`, `results.csv`, `ratios-<n>w.svg` (ratio per workload
//! at each worker count) and `scaling.svg` (median per workload against worker count).

mod floor;
mod report;
mod rt;
mod timeline;
#[path = "../common/timeline_svg.rs"]
mod timeline_svg;
#[path = "../common/work.rs"]
mod work;
mod workloads;

use indicatif::{ProgressBar, ProgressStyle};
use rt::{Filch, Rt, Smol, Tokio};
use std::path::PathBuf;
use std::time::Instant;
use workloads::{Params, Workload};

/// One measurement.
pub(crate) struct Sample {
    pub(crate) workers: usize,
    /// `workload` or `workload metric`.
    pub(crate) metric: String,
    pub(crate) unit: workloads::Unit,
    pub(crate) runtime: &'static str,
    pub(crate) round: usize,
    pub(crate) value: f64,
}

pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) workers: Vec<usize>,
    pub(crate) samples: usize,
    pub(crate) only: Vec<String>,
    pub(crate) out: PathBuf,
    /// `--timeline DIR`: a recorded filch run per workload (`timeline.rs`).
    pub(crate) timeline: Option<PathBuf>,
}

fn parse_args() -> Result<Options, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut quick = false;
    let mut workers = None;
    let mut samples = None;
    let mut only = Vec::new();
    let mut timeline = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--workers" => {
                let list = args.next().ok_or("--workers needs a list, like 1,2,4")?;
                // `ct`: the current-thread runtimes (recorded as 0 workers).
                let parsed: Result<Vec<usize>, _> = list
                    .split(',')
                    .map(|w| if w == "ct" { Ok(0) } else { w.parse::<usize>() })
                    .collect();
                match parsed {
                    Ok(v) if !v.is_empty() && v.iter().all(|&w| w > 0 || list.contains("ct")) => {
                        workers = Some(v)
                    }
                    _ => {
                        return Err(format!(
                            "--workers {list}: expected positive numbers or `ct` (the \
                             current-thread runtimes), like ct,1,2,4"
                        ))
                    }
                }
            }
            "--samples" => {
                let n = args.next().ok_or("--samples needs a number")?;
                match n.parse::<usize>() {
                    Ok(n) if n >= 2 => samples = Some(n),
                    _ => return Err(format!("--samples {n}: expected a number of at least 2")),
                }
            }
            "--only" => {
                let list = args
                    .next()
                    .ok_or("--only needs workload names (substrings), comma-separated")?;
                only = list.split(',').map(str::to_owned).collect();
            }
            "--timeline" => {
                let dir = args.next().ok_or("--timeline needs a directory")?;
                timeline = Some(PathBuf::from(dir));
            }
            // What cargo bench passes to every bench target.
            "--bench" => {}
            "--help" | "-h" => {
                return Err(
                    "usage: cargo bench --bench study -- [--quick] [--workers ct,1,2,4] \
                            [--samples N] [--only name,name] [--timeline DIR]"
                        .to_owned(),
                )
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    let workers = workers.unwrap_or_else(|| {
        if quick {
            vec![1, cores.min(2)]
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            std::iter::successors(Some(1), |&n| (n * 2 <= cores).then_some(n * 2)).collect()
        }
    });
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    Ok(Options {
        quick,
        workers,
        samples: samples.unwrap_or(if quick { 10 } else { 20 }),
        only,
        out: target.join("study"),
        timeline,
    })
}

/// Runs `f` `times` times and averages each measurement.
fn mean_of(times: usize, mut f: impl FnMut() -> Vec<f64>) -> Vec<f64> {
    let mut sum = f();
    for _ in 1..times {
        for (s, v) in sum.iter_mut().zip(f()) {
            *s += v;
        }
    }
    sum.iter().map(|s| s / times as f64).collect()
}

/// Runs one workload's rounds on the three runtimes in turn.
///
/// A sample is the mean of `repeat` runs, `repeat` chosen from the warm-up so that the slowest
/// runtime's sample lasts about `target`: short workloads are then measured over many runs
/// (criterion's approach), and every runtime does the same number of runs.
fn run_workload(
    w: &Workload,
    rts: &(Filch, Tokio, Smol),
    params: &Params,
    options: &Options,
    bar: &ProgressBar,
    out: &mut Vec<Sample>,
) {
    // A pause before each sample lets the previous runtime's threads finish spinning and park:
    // all three runtimes live in the process, and on few cores a spinning idle worker of one
    // slows the next.
    let settle = || std::thread::sleep(std::time::Duration::from_millis(2));
    let run = |which: usize, repeat: usize| -> Vec<f64> {
        settle();
        let started = Instant::now();
        let mut values = match which {
            0 => mean_of(repeat, || (w.filch)(&rts.0, params)),
            1 => mean_of(repeat, || (w.tokio)(&rts.1, params)),
            _ => mean_of(repeat, || {
                (w.smol.expect("checked by the caller"))(&rts.2, params)
            }),
        };
        assert_eq!(
            values.len(),
            w.metrics.len(),
            "{} returned the wrong number of values",
            w.name
        );
        values.push(started.elapsed().as_secs_f64());
        values
    };
    let runtimes: &[(usize, &'static str)] = if w.smol.is_some() {
        &[(0, Filch::NAME), (1, Tokio::NAME), (2, Smol::NAME)]
    } else {
        &[(0, Filch::NAME), (1, Tokio::NAME)]
    };
    let slowest = runtimes
        .iter()
        .map(|&(which, _)| *run(which, 1).last().expect("elapsed is pushed"))
        .fold(0.0, f64::max);
    let target = if options.quick { 0.01 } else { 0.05 };
    let repeat = ((target / slowest.max(1e-6)).ceil() as usize).clamp(1, 1_000);
    bar.inc(1);
    for round in 0..options.samples {
        for &(which, runtime) in runtimes {
            let values = run(which, repeat);
            for ((metric, unit), value) in w.metrics.iter().zip(values) {
                // A measurement this run could not take (perf missing): left out.
                if value.is_nan() {
                    continue;
                }
                let metric = if metric.is_empty() {
                    w.name.to_owned()
                } else {
                    format!("{} {metric}", w.name)
                };
                out.push(Sample {
                    workers: params.key,
                    metric,
                    unit: *unit,
                    runtime,
                    round,
                    value,
                });
            }
        }
        bar.inc(1);
    }
    if let Some(dir) = &options.timeline {
        // One more filch run, recorded (not a sample: recording costs two clock reads a poll).
        let handle = rts.0.handle();
        handle.start_timeline(timeline::CAPACITY);
        settle();
        let _ = (w.filch)(&rts.0, params);
        let recorded = handle.stop_timeline();
        let name = format!("{}-{}", w.name, report::label(params.key).replace(' ', "-"));
        if let Err(err) = timeline::write(dir, &name, &recorded) {
            eprintln!("cannot write the timeline of {}: {err}", w.name);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, runtime, tasks] = &args[..] {
        if flag == "--paused-child" {
            let tasks = tasks.parse().expect("--paused-child <runtime> <tasks>");
            println!("{}", workloads::paused_child(runtime, tasks));
            return;
        }
    }
    if let [flag, workload, runtime, workers, times] = &args[..] {
        if flag == "--repeat" {
            if let Err(message) = workloads::repeat(workload, runtime, workers, times) {
                eprintln!("--repeat <workload> <filch|tokio|smol> <workers|ct> <times>: {message}");
                std::process::exit(2);
            }
            return;
        }
    }
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let workloads: Vec<Workload> = workloads::all()
        .into_iter()
        .filter(|w| {
            options.only.is_empty() || options.only.iter().any(|o| w.name.contains(o.as_str()))
        })
        // Opt-in: `c100k` runs only when `--only` names it.
        .filter(|w| w.name != "c100k" || options.only.iter().any(|o| o == "c100k"))
        .filter(|w| {
            let runnable = !w.name.starts_with("http_") || workloads::have_wrk();
            if !runnable {
                eprintln!(
                    "skipping {}: `wrk` is not installed (apt-get install wrk)",
                    w.name
                );
            }
            runnable
        })
        .collect();
    if !cfg!(feature = "hyper")
        && (options.only.is_empty()
            || options
                .only
                .iter()
                .any(|o| "http_hello".contains(o.as_str())))
    {
        eprintln!("skipping http_hello (hyper on each runtime): it needs `--features hyper`");
    }
    if workloads.is_empty() {
        eprintln!("--only {:?} matches no workload", options.only);
        std::process::exit(2);
    }
    let total = (options.workers.len() * workloads.len() * (options.samples + 1)) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} rounds  {msg}")
            .expect("progress template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut samples = Vec::new();
    for &workers in &options.workers {
        let rts = (Filch::new(workers), Tokio::new(workers), Smol::new(workers));
        let params = Params {
            workers: workers.max(1),
            key: workers,
            quick: options.quick,
        };
        for w in &workloads {
            bar.set_message(format!("{}: {}", report::label(workers), w.name));
            run_workload(w, &rts, &params, &options, &bar, &mut samples);
        }
    }
    bar.finish_with_message("done");
    let elapsed = started.elapsed();
    // The floor compares with 1-worker rows: measured only if the run has them.
    let floor = if options.workers.contains(&1)
        && floor::NEEDS
            .iter()
            .any(|n| workloads.iter().any(|w| w.name == n.workload))
    {
        floor::measure()
    } else {
        Vec::new()
    };
    match report::write(&options, &workloads, &samples, &floor, elapsed) {
        Ok(path) => println!("study written to {}", path.display()),
        Err(err) => {
            eprintln!("cannot write the study's output: {err}");
            std::process::exit(1);
        }
    }
}
