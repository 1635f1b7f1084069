//! The study's output: `results.csv` (every sample), `REPORT.md` (medians, ratios, spreads,
//! geometric means, each runtime's run-to-run spread, and the machine) and SVG charts.

use crate::floor::{floor_of, Primitive, NEEDS};
use crate::workloads::{Unit, Workload};
use crate::{Options, Sample};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

const RUNTIMES: [&str; 3] = ["filch", "tokio", "smol"];

/// The samples of one metric at one worker count, by runtime and round.
struct Cell<'a> {
    unit: Unit,
    by_runtime: BTreeMap<&'static str, Vec<&'a Sample>>,
}

impl Cell<'_> {
    fn values(&self, runtime: &str) -> Vec<f64> {
        self.by_runtime
            .get(runtime)
            .map(|s| s.iter().map(|s| s.value).collect())
            .unwrap_or_default()
    }

    fn median(&self, runtime: &str) -> Option<f64> {
        median(self.values(runtime))
    }

    /// Ratio of medians filch/`other`, and the min–max of the ratios of the samples taken in the
    /// same round; none over a median of zero (a count that was nothing: messages lost).
    fn ratio(&self, other: &str) -> Option<(f64, f64, f64)> {
        let ratio = self.median("filch")? / self.median(other).filter(|&m| m > 0.0)?;
        let (f, o) = (self.by_runtime.get("filch")?, self.by_runtime.get(other)?);
        let paired: Vec<f64> = f
            .iter()
            .filter_map(|fs| {
                o.iter()
                    .find(|os| os.round == fs.round && os.value > 0.0)
                    .map(|os| fs.value / os.value)
            })
            .collect();
        let min = paired.iter().copied().fold(f64::INFINITY, f64::min);
        let max = paired.iter().copied().fold(0.0, f64::max);
        Some((ratio, min, max))
    }

    /// `runtime`'s run-to-run spread: (max − min) / median of its own samples, as a fraction.
    fn spread(&self, runtime: &str) -> Option<f64> {
        let v = self.values(runtime);
        let median = median(v.clone()).filter(|&m| m > 0.0)?;
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((max - min) / median)
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn geomean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

/// Metrics in workload order, for one worker count.
fn cells<'a>(workers: usize, samples: &'a [Sample]) -> Vec<(String, Cell<'a>)> {
    let mut out: Vec<(String, Cell<'a>)> = Vec::new();
    for s in samples.iter().filter(|s| s.workers == workers) {
        let at = match out.iter().position(|(m, _)| *m == s.metric) {
            Some(at) => at,
            None => {
                out.push((
                    s.metric.clone(),
                    Cell {
                        unit: s.unit,
                        by_runtime: BTreeMap::new(),
                    },
                ));
                out.len() - 1
            }
        };
        out[at].1.by_runtime.entry(s.runtime).or_default().push(s);
    }
    out
}

fn show(value: Option<f64>, unit: Unit) -> String {
    match (value, unit) {
        (None, _) => "–".to_owned(),
        (Some(v), Unit::Micros) => format!("{v:.1} µs"),
        (Some(v), Unit::Seconds) if v < 1e-3 => format!("{:.1} µs", v * 1e6),
        (Some(v), Unit::Seconds) => format!("{:.2} ms", v * 1e3),
        (Some(v), Unit::PerRequest) => format!("{v:.2}"),
        (Some(v), Unit::BytesPerTask | Unit::BytesPerConnection) => format!("{v:.0} B"),
        (Some(v), Unit::Count) => format!("{v:.0}"),
    }
}

fn show_spread(spread: Option<f64>) -> String {
    spread.map_or_else(|| "–".to_owned(), |s| format!("{:.1} %", s * 100.0))
}

fn show_ratio(r: Option<(f64, f64, f64)>) -> String {
    match r {
        None => "–".to_owned(),
        Some((r, min, max)) => format!("**{r:.3}** ({min:.2}–{max:.2})"),
    }
}

/// `version = "…"` of `name` in the workspace's Cargo.lock.
fn locked_version(name: &str) -> String {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .unwrap_or_default();
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|at| {
            lock[at + needle.len()..]
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |s| s.trim().to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or(std::env::consts::OS.to_owned(), |k| {
            format!("Linux {}", k.trim())
        });
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("-V")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map_or("rustc ?".to_owned(), |s| s.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available, {kernel}, {rustc}")
}

pub(crate) fn write(
    options: &Options,
    workloads: &[Workload],
    samples: &[Sample],
    floor: &[Primitive],
    elapsed: Duration,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(&options.out)?;

    let mut csv = String::from("workers,metric,unit,runtime,round,value\n");
    for s in samples {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            s.workers,
            s.metric,
            s.unit.label(),
            s.runtime,
            s.round,
            s.value
        );
    }
    std::fs::write(options.out.join("results.csv"), csv)?;

    let mut md = String::new();
    let _ = writeln!(md, "# filch vs tokio vs smol\n");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let features = if cfg!(feature = "hyper") {
        " --features hyper"
    } else {
        ""
    };
    let command = if args.is_empty() {
        format!("cargo bench --bench study{features}")
    } else {
        format!("cargo bench --bench study{features} -- {}", args.join(" "))
    };
    let _ = writeln!(md, "- Command: `{command}`");
    let _ = writeln!(md, "- Machine: {}", machine());
    let _ = writeln!(
        md,
        "- Versions: filch {}, tokio {}, smol {} (async-executor {}, async-io {})",
        env!("CARGO_PKG_VERSION"),
        locked_version("tokio"),
        locked_version("smol"),
        locked_version("async-executor"),
        locked_version("async-io"),
    );
    let _ = writeln!(
        md,
        "- Build: the `bench` profile (release, opt-level 3, debug info) for all three, in one \
         process; allocator: the system allocator (glibc malloc) for all three."
    );
    let _ =
        writeln!(
        md,
        "- Method: per worker count, one runtime of each kind; per workload one warm-up run each, \
         then {} rounds in which the runtimes take turns (filch, tokio, smol). Medians of the \
         rounds; the ratio is filch's median over the other's (below 1: filch costs less), with \
         the min–max of the ratios of same-round samples. Each runtime's run-to-run spread, \
         (max − min) / median of its own {} samples, is in a second table per worker count. \
         Mode: {}. Took {:.0?}.",
        options.samples,
        options.samples,
        if options.quick { "quick (smaller timer, latency and echo workloads)" } else { "full" },
        elapsed
    );
    let _ = writeln!(
        md,
        "\nEvery number is a cost: lower is better. Rows in counts (the HTTP workloads' \
         syscalls and context switches per request, heap bytes per idle task) are shown with \
         their ratios but left out of the geometric means, the charts and the run-to-run spreads, \
         which are about time.\n"
    );
    for &workers in &options.workers {
        let cells = cells(workers, samples);
        let _ = writeln!(md, "## {}\n", label(workers));
        if workers == 0 {
            let _ = writeln!(
                md,
                "The current-thread runtimes: filch's `Builder::new_current_thread()` and tokio's \
                 `new_current_thread()`, each inside `block_on` on a thread of its own for the \
                 whole run (the workloads spawn and wait from another thread, as on the other \
                 runtimes), and smol's `Executor` run by one thread (smol's `LocalExecutor` \
                 cannot be handed tasks from another thread, which every workload does).\n"
            );
        }
        let _ = writeln!(
            md,
            "| workload | filch | tokio | smol | filch/tokio (spread) | filch/smol (spread) |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
        let (mut vs_tokio, mut vs_smol) = (Vec::new(), Vec::new());
        for (metric, cell) in &cells {
            let (rt, rs) = (cell.ratio("tokio"), cell.ratio("smol"));
            // The geometric means are of costs in time; counts are shown, not averaged in.
            if cell.unit.is_time() {
                vs_tokio.extend(rt.map(|r| r.0));
                vs_smol.extend(rs.map(|r| r.0));
            }
            let _ = writeln!(
                md,
                "| {metric} | {} | {} | {} | {} | {} |",
                show(cell.median("filch"), cell.unit),
                show(cell.median("tokio"), cell.unit),
                show(cell.median("smol"), cell.unit),
                show_ratio(rt),
                show_ratio(rs),
            );
        }
        let _ = writeln!(
            md,
            "| **geometric mean of the ratios** | | | | **{:.3}** | **{:.3}** |\n",
            geomean(&vs_tokio).unwrap_or(f64::NAN),
            geomean(&vs_smol).unwrap_or(f64::NAN),
        );
        write_spreads(&mut md, &cells);
        let _ = writeln!(
            md,
            "![ratios, {}](ratios-{}.svg)\n",
            label(workers),
            file_key(workers)
        );
        let timed: Vec<_> = cells
            .into_iter()
            .filter(|(_, c)| c.unit.is_time())
            .collect();
        ratio_chart(
            &options
                .out
                .join(format!("ratios-{}.svg", file_key(workers))),
            workers,
            &timed,
        )
        .map_err(std::io::Error::other)?;
    }
    let _ = writeln!(
        md,
        "## Scaling with the worker count\n\n![scaling](scaling.svg)\n"
    );
    // The current-thread column is no point on a scale of worker threads.
    let threaded: Vec<usize> = options.workers.iter().copied().filter(|&w| w > 0).collect();
    scaling_chart(&options.out.join("scaling.svg"), &threaded, samples)
        .map_err(std::io::Error::other)?;
    if !floor.is_empty() {
        write_floor(&mut md, floor, samples);
    }
    let _ = writeln!(md, "## Workloads\n");
    for w in workloads {
        let _ = writeln!(md, "- **{}**: {}", w.name, w.about);
    }
    let path = options.out.join("REPORT.md");
    std::fs::write(&path, md)?;
    Ok(path)
}

/// The run-to-run spread of each runtime's own samples, time rows only (counts are left out, as
/// in the geometric means), and on how many rows filch's is no wider than tokio's.
fn write_spreads(md: &mut String, cells: &[(String, Cell<'_>)]) {
    let timed: Vec<_> = cells.iter().filter(|(_, c)| c.unit.is_time()).collect();
    if timed.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "Run-to-run spread of each runtime's samples: (max − min) / median, time rows only.\n\n\
         | workload | filch | tokio | smol | filch ≤ tokio? |\n|---|---:|---:|---:|:---:|"
    );
    let (mut no_wider, mut rows) = (0, 0);
    for (metric, cell) in timed {
        let (filch, tokio) = (cell.spread("filch"), cell.spread("tokio"));
        let verdict = match filch.zip(tokio) {
            None => "–",
            Some((f, t)) => {
                rows += 1;
                if f <= t {
                    no_wider += 1;
                    "yes"
                } else {
                    "no"
                }
            }
        };
        let _ = writeln!(
            md,
            "| {metric} | {} | {} | {} | {verdict} |",
            show_spread(filch),
            show_spread(tokio),
            show_spread(cell.spread("smol")),
        );
    }
    let _ = writeln!(
        md,
        "\nfilch's spread is no wider than tokio's on {no_wider} of {rows} rows.\n"
    );
}

/// The floor section (see `floor.rs`): the primitives, then each modelled workload's cost per
/// unit on each runtime next to the sum of the primitives it needs, from the 1-worker rows.
fn write_floor(md: &mut String, floor: &[Primitive], samples: &[Sample]) {
    let _ = writeln!(
        md,
        "## The floor\n\nWhat the primitives a task cannot avoid cost here, each timed alone \
         on one thread (median of 7 loops; waking: half a round trip between two threads):\n\n\
         | primitive | ns | how |\n|---|---:|---|"
    );
    for p in floor {
        let _ = writeln!(md, "| {} | {:.1} | {} |", p.name, p.ns, p.about);
    }
    let _ = writeln!(
        md,
        "\nPer unit of work at 1 worker, each runtime's median next to the floor (the sum of \
         the primitives the unit needs at least; the runtime's cost over it in brackets):\n\n\
         | workload (unit) | floor | filch | tokio | smol | needs |\n|---|---:|---:|---:|---:|---|"
    );
    let cells = cells(1, samples);
    for need in NEEDS {
        let Some((_, cell)) = cells.iter().find(|(m, _)| m == need.workload) else {
            continue;
        };
        let floor_ns = floor_of(need, floor);
        let per_unit = |runtime: &str| {
            cell.median(runtime).map_or_else(
                || "–".to_owned(),
                |seconds| {
                    let ns = seconds * 1e9 / need.units_per_run;
                    format!("{ns:.0} ns ({:.1}×)", ns / floor_ns)
                },
            )
        };
        let counts: Vec<String> = need
            .counts
            .iter()
            .map(|(name, count)| format!("{count} × {name}"))
            .collect();
        let _ = writeln!(
            md,
            "| {} ({}) | {floor_ns:.0} ns | {} | {} | {} | {}: {} |",
            need.workload,
            need.unit,
            per_unit("filch"),
            per_unit("tokio"),
            per_unit("smol"),
            counts.join(", "),
            need.why
        );
    }
    let _ = writeln!(md);
}

type ChartResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn err<E: std::fmt::Debug>(e: E) -> Box<dyn std::error::Error + Send + Sync> {
    format!("{e:?}").into()
}

/// One row per metric: a bar for filch/tokio, a dot for filch/smol, on a log scale, with 1 marked.
fn ratio_chart(path: &Path, workers: usize, cells: &[(String, Cell<'_>)]) -> ChartResult {
    let n = cells.len();
    let root = SVGBackend::new(path, (1000, 60 + 26 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "time filch / time other, {} (bar: tokio, dot: smol; < 1: filch faster)",
                label(workers)
            ),
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(230)
        .build_cartesian_2d((0.001f64..10f64).log_scale(), (0..n).into_segmented())
        .map_err(err)?;
    let names: Vec<&str> = cells.iter().map(|(m, _)| m.as_str()).collect();
    chart
        .configure_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                names.get(*i).map_or(String::new(), |s| (*s).to_owned())
            }
            SegmentValue::Last => String::new(),
        })
        .disable_y_mesh()
        .draw()
        .map_err(err)?;
    let clamp = |r: f64| r.clamp(0.0011, 9.9);
    chart
        .draw_series(cells.iter().enumerate().filter_map(|(i, (_, c))| {
            let (r, _, _) = c.ratio("tokio")?;
            let color = if r <= 1.0 {
                RGBColor(40, 120, 200)
            } else {
                RGBColor(210, 80, 60)
            };
            Some(Rectangle::new(
                [
                    (0.001, SegmentValue::Exact(i)),
                    (clamp(r), SegmentValue::Exact(i + 1)),
                ],
                color.filled(),
            ))
        }))
        .map_err(err)?;
    chart
        .draw_series(cells.iter().enumerate().filter_map(|(i, (_, c))| {
            let (r, _, _) = c.ratio("smol")?;
            Some(Circle::new(
                (clamp(r), SegmentValue::CenterOf(i)),
                4,
                BLACK.filled(),
            ))
        }))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)],
            BLACK.stroke_width(1),
        )))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// One small chart per metric: each runtime's median against the worker count.
fn scaling_chart(path: &Path, workers: &[usize], samples: &[Sample]) -> ChartResult {
    let metrics: Vec<(String, Unit)> = {
        let mut seen: Vec<(String, Unit)> = Vec::new();
        for s in samples.iter().filter(|s| s.unit.is_time()) {
            if !seen.iter().any(|(m, _)| *m == s.metric) {
                seen.push((s.metric.clone(), s.unit));
            }
        }
        seen
    };
    let cols = 4;
    let rows = metrics.len().div_ceil(cols).max(1);
    let root = SVGBackend::new(path, (1200, 220 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let colors = [
        RGBColor(40, 120, 200),
        RGBColor(210, 80, 60),
        RGBColor(60, 160, 80),
    ];
    let (lo, hi) = (
        *workers.iter().min().unwrap_or(&1) as f64,
        *workers.iter().max().unwrap_or(&1) as f64,
    );
    for (area, (metric, unit)) in root.split_evenly((rows, cols)).iter().zip(&metrics) {
        let series: Vec<(&str, Vec<(f64, f64)>)> = RUNTIMES
            .iter()
            .map(|&rt| {
                let points = workers
                    .iter()
                    .filter_map(|&w| {
                        let v: Vec<f64> = samples
                            .iter()
                            .filter(|s| s.workers == w && s.runtime == rt && s.metric == *metric)
                            .map(|s| {
                                if *unit == Unit::Seconds {
                                    s.value * 1e3
                                } else {
                                    s.value
                                }
                            })
                            .collect();
                        median(v).map(|m| (w as f64, m))
                    })
                    .collect();
                (rt, points)
            })
            .collect();
        let top = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "{metric} ({})",
                    if *unit == Unit::Seconds { "ms" } else { "µs" }
                ),
                ("sans-serif", 13),
            )
            .margin(6)
            .x_label_area_size(20)
            .y_label_area_size(45)
            .build_cartesian_2d((lo - 0.5)..(hi + 0.5), 0.0..top.max(1e-9))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(workers.len().clamp(2, 8))
            .y_labels(4)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(err)?;
        for ((rt, points), color) in series.iter().zip(colors) {
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(*rt)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .label_font(("sans-serif", 11))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// How the report names a worker count: 0 is the current-thread runtimes.
pub(crate) fn label(workers: usize) -> String {
    match workers {
        0 => "current thread".to_owned(),
        1 => "1 worker".to_owned(),
        n => format!("{n} workers"),
    }
}

/// The worker count in file names (`ratios-2w.svg`, `ratios-ct.svg`).
fn file_key(workers: usize) -> String {
    match workers {
        0 => "ct".to_owned(),
        n => format!("{n}w"),
    }
}
