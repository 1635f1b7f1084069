//! `Handle::dump`: the live tasks, their names, spawn locations, parents, states and poll
//! counts, against workloads where each is known.

use filch::sync::oneshot;
use filch::{Builder, Handle, Id, Runtime, TaskDump, TaskGroup, TaskInfo, TaskState};
use std::sync::mpsc;
use std::time::Duration;

fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn task(dump: &TaskDump, id: Id) -> &TaskInfo {
    dump.get(id)
        .unwrap_or_else(|| panic!("task {id} not in the dump:\n{dump}"))
}

/// Asserts that `info` was spawned at `line` of this file.
#[track_caller]
fn assert_spawned_at(info: &TaskInfo, line: u32) {
    assert!(
        info.location.file().ends_with("rt_dump.rs"),
        "{}",
        info.location
    );
    assert_eq!(info.location.line(), line, "{}", info.location);
}

#[test]
fn names_locations_states_and_polls_are_exact_on_a_current_thread_runtime() {
    let rt = current_thread();
    rt.block_on(async {
        let (release_tx, release_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        let waiter = filch::task::Builder::new()
            .name("waiter")
            .spawn(async move {
                for _ in 0..3 {
                    filch::yield_now().await;
                }
                ready_tx.send(()).unwrap();
                let _ = release_rx.await;
            });
        let waiter_line = line!() - 7;
        ready_rx.await.unwrap();

        // Spawned and not yet run: the root has not yielded since.
        let queued = filch::spawn(async {});
        let queued_line = line!() - 1;

        let dump = Handle::current().dump();
        assert_eq!(dump.tasks.len(), 2, "{dump}");
        assert_eq!(dump.workers, 1);

        let w = task(&dump, waiter.id());
        assert_eq!(w.name.as_deref(), Some("waiter"));
        assert_spawned_at(w, waiter_line);
        assert_eq!(w.state, TaskState::Idle, "waits on a oneshot");
        assert_eq!(w.polls, 4, "three yields, then the poll that waits");
        assert_eq!(w.parent, None, "spawned by the block_on future");
        assert!(!w.cancelled);

        let q = task(&dump, queued.id());
        assert_eq!(q.name, None);
        assert_spawned_at(q, queued_line);
        assert_eq!(q.state, TaskState::Scheduled);
        assert_eq!(q.polls, 0);

        release_tx.send(()).unwrap();
        waiter.await.unwrap();
        queued.await.unwrap();
        // A current-thread runtime completes a task (and takes it off the list) within its
        // last poll, before the root runs again.
        let dump = Handle::current().dump();
        assert!(dump.tasks.is_empty(), "{dump}");
    });
}

#[test]
fn every_spawn_function_records_its_callers_line() {
    let rt = current_thread();
    let handle = rt.handle();
    let from_runtime = rt.spawn(std::future::pending::<()>());
    let runtime_line = line!() - 1;
    let from_handle = handle.spawn(std::future::pending::<()>());
    let handle_line = line!() - 1;
    let from_spawn_on = filch::task::Builder::new()
        .name("on")
        .spawn_on(std::future::pending::<()>(), &handle);
    let spawn_on_line = line!() - 1;
    rt.block_on(async {
        let from_spawn = filch::spawn(std::future::pending::<()>());
        let spawn_line = line!() - 1;
        let from_builder = filch::task::Builder::new()
            .name("built")
            .spawn(std::future::pending::<()>());
        let builder_line = line!() - 1;
        let group = TaskGroup::<(), ()>::new();
        group.spawn(std::future::pending());
        let group_line = line!() - 1;
        group.spawn_named("named child", std::future::pending());
        let group_named_line = line!() - 1;

        let dump = Handle::current().dump();
        for (id, line) in [
            (from_runtime.id(), runtime_line),
            (from_handle.id(), handle_line),
            (from_spawn_on.id(), spawn_on_line),
            (from_spawn.id(), spawn_line),
            (from_builder.id(), builder_line),
        ] {
            assert_spawned_at(task(&dump, id), line);
        }
        let group_children: Vec<_> = dump
            .tasks
            .iter()
            .filter(|t| t.location.line() == group_line || t.location.line() == group_named_line)
            .collect();
        assert_eq!(group_children.len(), 2, "{dump}");
        assert!(group_children
            .iter()
            .all(|t| t.location.file().ends_with("rt_dump.rs")));
        assert!(group_children
            .iter()
            .any(|t| t.name.as_deref() == Some("named child")));
        group.cancel();
        assert!(group.join().await.is_err());
        for h in [
            from_runtime,
            from_handle,
            from_spawn_on,
            from_spawn,
            from_builder,
        ] {
            h.abort();
        }
    });
}

#[test]
fn children_appear_under_their_spawner_and_a_task_groups_under_its_owner() {
    let rt = current_thread();
    rt.block_on(async {
        let (hold_tx, hold_rx) = filch::sync::watch::channel(false);
        let (ids_tx, ids_rx) = oneshot::channel::<(Vec<Id>, Vec<u32>)>();
        let acceptor = filch::task::Builder::new()
            .name("acceptor")
            .spawn(async move {
                let hold = || {
                    let mut rx = hold_rx.clone();
                    async move {
                        let _ = rx.wait_for(|released| *released).await;
                    }
                };
                let conn = filch::task::Builder::new().name("conn").spawn(hold());
                let conn_line = line!() - 1;
                // Two children under a limit of one: the second starts when the first ends, from the
                // first one's task, and still counts as the acceptor's.
                let group = TaskGroup::<(), ()>::new().with_limit(1);
                let (first_done_tx, first_done_rx) = oneshot::channel::<()>();
                group.spawn_named("first", async move {
                    let _ = first_done_rx.await;
                    Ok(())
                });
                let first_line = line!() - 4;
                let held = hold();
                group.spawn_named("second", async move {
                    held.await;
                    Ok(())
                });
                let second_line = line!() - 4;
                ids_tx
                    .send((vec![conn.id()], vec![conn_line, first_line, second_line]))
                    .unwrap();
                first_done_tx.send(()).unwrap();
                group.join().await.unwrap();
                conn.await.unwrap();
            });
        let (ids, lines) = ids_rx.await.unwrap();
        let conn = ids[0];
        // Let the first child end and the second start.
        for _ in 0..10 {
            filch::yield_now().await;
        }

        let dump = Handle::current().dump();
        let a = task(&dump, acceptor.id());
        assert_eq!(a.parent, None);
        assert_eq!(task(&dump, conn).parent, Some(acceptor.id()), "{dump}");
        assert_spawned_at(task(&dump, conn), lines[0]);
        assert!(
            !dump
                .tasks
                .iter()
                .any(|t| t.name.as_deref() == Some("first")),
            "the first child ended:\n{dump}"
        );
        let second = dump
            .tasks
            .iter()
            .find(|t| t.name.as_deref() == Some("second"))
            .unwrap_or_else(|| panic!("{dump}"));
        assert_eq!(second.parent, Some(acceptor.id()), "{dump}");
        assert_spawned_at(second, lines[2]);
        let children: Vec<Id> = dump.children(acceptor.id()).map(|t| t.id).collect();
        assert_eq!(children, vec![conn, second.id], "{dump}");
        let roots: Vec<Id> = dump.roots().map(|t| t.id).collect();
        assert_eq!(roots, vec![acceptor.id()], "{dump}");

        // The tree as printed: the acceptor first, its children below it, in id order.
        let text = dump.to_string();
        let lines_out: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines_out[0], "runtime dump: 3 live tasks (1 worker)",
            "{text}"
        );
        assert!(lines_out[1].starts_with(&format!("#{} \"acceptor\"", acceptor.id())));
        assert!(
            lines_out[2].starts_with(&format!("├─ #{conn} \"conn\"")),
            "{text}"
        );
        assert!(
            lines_out[3].starts_with(&format!("└─ #{} \"second\"", second.id)),
            "{text}"
        );
        for line in &lines_out[1..] {
            assert!(line.contains(" idle "), "{text}");
        }
        assert!(
            lines_out[2].contains(&format!("rt_dump.rs:{}:", lines[0])),
            "{text}"
        );

        hold_tx.send(true).unwrap();
        acceptor.await.unwrap();
        assert!(Handle::current().dump().tasks.is_empty());
    });
}

#[test]
fn a_task_whose_parent_completed_is_shown_as_a_root() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<()>();
        // Returns the child's handle (in a tuple: a bare handle would be awaitable).
        let parent = filch::spawn(async move { (filch::spawn(async move { rx.await.unwrap() }),) });
        let parent_id = parent.id();
        let (child,) = parent.await.unwrap();
        let dump = Handle::current().dump();
        let c = task(&dump, child.id());
        assert_eq!(c.parent, Some(parent_id));
        assert!(dump.get(parent_id).is_none(), "the parent completed");
        assert_eq!(
            dump.roots().map(|t| t.id).collect::<Vec<_>>(),
            vec![child.id()]
        );
        let text = dump.to_string();
        assert!(
            text.contains(&format!("(parent #{} gone)", c.parent.unwrap())),
            "{text}"
        );
        tx.send(()).unwrap();
        child.await.unwrap();
    });
}

#[test]
fn the_dumping_task_is_running_on_its_worker() {
    let rt = current_thread();
    rt.block_on(async {
        let me = filch::spawn(async {
            let dump = Handle::current().dump();
            dump.tasks
                .iter()
                .map(|t| (t.id, t.state))
                .collect::<Vec<_>>()
        });
        let id = me.id();
        let seen = me.await.unwrap();
        assert_eq!(seen, vec![(id, TaskState::Running { worker: Some(0) })]);
    });
}

#[test]
fn a_task_blocking_its_worker_is_shown_running_there() {
    let rt = multi_thread(2);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        started_tx.send(()).unwrap();
        // Blocks its worker on purpose until the dump is taken.
        release_rx.recv().unwrap();
    });
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let dump = rt.handle().dump();
    let b = task(&dump, blocker.id());
    match b.state {
        TaskState::Running { worker: Some(w) } => assert!(w < 2, "{dump}"),
        other => panic!("{other:?}\n{dump}"),
    }
    assert_eq!(b.polls, 1);
    assert!(dump.to_string().contains("running on worker"), "{dump}");
    release_tx.send(()).unwrap();
    rt.block_on(blocker).unwrap();
}

#[test]
fn an_aborted_idle_task_is_marked_cancelled_until_it_runs() {
    let rt = current_thread();
    rt.block_on(async {
        let idle = filch::spawn(std::future::pending::<()>());
        filch::yield_now().await;
        idle.abort();
        let dump = Handle::current().dump();
        let t = task(&dump, idle.id());
        assert!(t.cancelled);
        assert_eq!(
            t.state,
            TaskState::Scheduled,
            "abort schedules it to drop it"
        );
        assert!(dump.to_string().contains("(cancelled)"));
        assert!(idle.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn polls_are_counted_for_every_poll() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        let busy = filch::spawn(async move {
            for _ in 0..1000 {
                filch::yield_now().await;
            }
            ready_tx.send(()).unwrap();
            rx.await.unwrap();
        });
        ready_rx.await.unwrap();
        let dump = Handle::current().dump();
        assert_eq!(task(&dump, busy.id()).polls, 1001);
        assert!(dump.to_string().contains("polls 1001 "), "{dump}");
        tx.send(()).unwrap();
        busy.await.unwrap();
    });
}
