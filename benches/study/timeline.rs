//! `--timeline DIR`: after a workload's samples, one more filch run recorded as a timeline
//! (`Handle::start_timeline`), written as Chrome trace JSON (open it in <https://ui.perfetto.dev>)
//! and drawn as an SVG: one row per worker, one slice per poll (coloured by task), parks in
//! grey, non-blocking driver turns in blue, steals as red ticks. A surprising number in the
//! report can then be looked at, not guessed at.

use crate::timeline_svg::svg;
use filch::Timeline;
use std::path::Path;
use std::time::Duration;

/// Events a worker keeps: the last ones of a long run.
pub(crate) const CAPACITY: usize = 200_000;

/// How much of the run the SVG shows, from its first event: a picture of a whole run would
/// hold every poll of it (megabytes); the JSON has them all.
const SVG_WINDOW: Duration = Duration::from_millis(2);

/// Writes `DIR/<name>.json` (the whole recording) and `DIR/<name>.svg` (its first 2 ms).
pub(crate) fn write(dir: &Path, name: &str, timeline: &Timeline) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    timeline.write_chrome_trace(std::fs::File::create(dir.join(format!("{name}.json")))?)?;
    std::fs::write(
        dir.join(format!("{name}.svg")),
        svg(timeline, name, Some(SVG_WINDOW)),
    )
}
