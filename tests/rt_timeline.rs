//! The timeline: every poll recorded on its worker's row, no two events of one worker
//! overlapping, and the Chrome trace JSON parsed back to the same slices.

use filch::{Builder, TimelineEvent};
use std::collections::HashMap;
use std::time::Duration;

fn runtime() -> filch::Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// 100 tasks that each yield once (two polls each), one named task that sleeps (two polls,
/// parks in between), and a batch spawned from a task (so that a worker steals).
async fn workload() -> Vec<filch::Id> {
    let mut ids = Vec::new();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            filch::spawn(async {
                filch::yield_now().await;
            })
        })
        .collect();
    ids.extend(tasks.iter().map(|t| t.id()));
    filch::join_all(tasks).await;
    let named = filch::task::Builder::new()
        .name("sleeper \"quoted\"")
        .spawn(filch::sleep(Duration::from_millis(20)));
    ids.push(named.id());
    named.await.unwrap();
    filch::spawn(async {
        let batch: Vec<_> = (0..64)
            .map(|_| filch::spawn(async { std::thread::sleep(Duration::from_micros(200)) }))
            .collect();
        filch::join_all(batch).await;
    })
    .await
    .unwrap();
    ids
}

#[test]
fn every_poll_is_recorded_once_on_its_worker_and_no_events_of_a_worker_overlap() {
    let rt = runtime();
    rt.handle().start_timeline(100_000);
    let ids = rt.block_on(workload());
    let timeline = rt.handle().stop_timeline();
    assert_eq!(timeline.workers, 2);
    assert_eq!(timeline.dropped, 0);

    let mut polls: HashMap<filch::Id, usize> = HashMap::new();
    for event in &timeline.events {
        assert!(event.worker() < 2, "{event:?}");
        if let TimelineEvent::Poll { task, .. } = event {
            *polls.entry(*task).or_default() += 1;
        }
    }
    // The 100 yielding tasks: exactly two polls each; the sleeper: two.
    for id in &ids {
        assert_eq!(polls.get(id), Some(&2), "task {id}");
    }
    let sleeper = ids.last().unwrap();
    assert!(timeline.events.iter().any(|e| matches!(
        e,
        TimelineEvent::Poll { task, name: Some(name), .. }
            if task == sleeper && &**name == "sleeper \"quoted\""
    )));
    assert!(timeline
        .events
        .iter()
        .any(|e| matches!(e, TimelineEvent::Park { .. })));

    for worker in 0..2 {
        let mut events: Vec<_> = timeline
            .events
            .iter()
            .filter(|e| e.worker() == worker && !matches!(e, TimelineEvent::Steal { .. }))
            .collect();
        events.sort_by_key(|e| e.start());
        for pair in events.windows(2) {
            let end = pair[0].start() + pair[0].duration();
            assert!(
                end <= pair[1].start(),
                "worker {worker}: {:?} overlaps {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

#[test]
fn the_chrome_trace_parses_back_to_the_same_slices() {
    let rt = runtime();
    rt.handle().start_timeline(100_000);
    rt.block_on(workload());
    let timeline = rt.handle().stop_timeline();
    let json: serde_json::Value = serde_json::from_str(&timeline.to_chrome_trace()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let rows: Vec<_> = events
        .iter()
        .filter(|e| e["ph"] == "M")
        .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].clone()))
        .collect();
    assert_eq!(rows.len(), 2);
    let slices: Vec<_> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "poll")
        .collect();
    let polls = timeline
        .events
        .iter()
        .filter(|e| matches!(e, TimelineEvent::Poll { .. }))
        .count();
    assert_eq!(slices.len(), polls);
    for slice in &slices {
        assert!(slice["tid"].as_u64().unwrap() < 2);
        assert!(slice["ts"].as_f64().unwrap() >= 0.0);
        assert!(slice["dur"].as_f64().unwrap() >= 0.0);
        let name = slice["name"].as_str().unwrap();
        assert!(name.starts_with("task "), "{name}");
    }
    assert!(slices.iter().any(|s| s["name"]
        .as_str()
        .unwrap()
        .ends_with("\"sleeper \\\"quoted\\\"\"")));
    // Steals, when there were any, are instants on the thief's row.
    for steal in events.iter().filter(|e| e["cat"] == "steal") {
        assert_eq!(steal["ph"], "i");
    }
}

#[test]
fn a_full_ring_keeps_the_last_events_and_counts_the_dropped() {
    let rt = runtime();
    rt.handle().start_timeline(10);
    rt.block_on(workload());
    let timeline = rt.handle().stop_timeline();
    for worker in 0..2 {
        let n = timeline
            .events
            .iter()
            .filter(|e| e.worker() == worker)
            .count();
        assert!(n <= 10, "worker {worker} kept {n}");
    }
    assert!(timeline.dropped > 0);
}

#[test]
fn nothing_is_recorded_outside_a_recording() {
    let rt = runtime();
    rt.block_on(workload());
    assert!(rt.handle().stop_timeline().events.is_empty());
    rt.handle().start_timeline(1_000);
    let first = rt.handle().stop_timeline();
    rt.block_on(workload());
    assert!(rt.handle().stop_timeline().events.is_empty());
    // What the first recording held was taken by its stop.
    assert!(first.events.len() <= 2 * 1_000);
}

#[test]
fn a_named_task_that_completes_in_its_first_poll_keeps_its_name() {
    // Regression: names were looked up after the poll, when such a task is already freed.
    let rt = runtime();
    rt.handle().start_timeline(1_000);
    let id = rt.block_on(async {
        let handle = filch::task::Builder::new().name("one-shot").spawn(async {});
        let id = handle.id();
        handle.await.unwrap();
        id
    });
    let timeline = rt.handle().stop_timeline();
    let names: Vec<_> = timeline
        .events
        .iter()
        .filter_map(|e| match e {
            TimelineEvent::Poll { task, name, .. } if *task == id => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, [Some("one-shot".into())]);
}
