#[cfg(feature = "hyper")]
use super::io::hyper_hello;
use super::io::{
    find, heap_in_use, raise, EchoRun, HttpServer, ManyConnections, HELLO, MANY_LISTENERS,
};
use super::{local_task, DriverThread, Received, Rt, TokioShaped, Unwrap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub(crate) struct Tokio(
    Arc<tokio::runtime::Runtime>,
    /// Kept for its drop: stops the current-thread runtime's own thread.
    #[allow(dead_code)]
    Option<Arc<DriverThread>>,
);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;

    fn new(workers: usize) -> Tokio {
        if workers == 0 {
            let rt = Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime"),
            );
            let driven = rt.clone();
            let driver = DriverThread::start("tokio-ct", move |stopped| {
                let _ = driven.block_on(stopped);
            });
            return Tokio(rt, Some(driver));
        }
        Tokio(
            Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
                    .expect("tokio runtime"),
            ),
            None,
        )
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(self.0.spawn(future))
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(self.0.spawn(future));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
    async fn timeout<F: Future + Send>(duration: Duration, future: F) -> Option<F::Output> {
        tokio::time::timeout(duration, future).await.ok()
    }
    async fn join_all<F: Future + Send>(futures: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send,
    {
        futures_util::future::join_all(futures).await
    }
    async fn group<F: Future<Output = usize> + Send + 'static>(
        &self,
        n: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            set.spawn(async move { Ok::<_, ()>(make(i).await) });
        }
        let mut done = 0;
        while let Some(result) = set.join_next().await {
            result.unwrap().unwrap();
            done += 1;
        }
        done
    }
    async fn select_loop<F: Future<Output = usize> + Send>(
        rounds: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut sum = 0;
        for i in 0..rounds {
            tokio::select! {
                v = make(i) => sum += v,
                _ = std::future::pending::<()>() => unreachable!(),
            }
        }
        sum
    }
    fn local_tasks(&self, n: usize) -> usize {
        let local = tokio::task::LocalSet::new();
        self.0.block_on(local.run_until(async {
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    tokio::task::spawn_local(local_task(count.clone(), tokio::task::yield_now()))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            count.get()
        }))
    }
    signal_round_trips!(tokio::signal::unix, user_defined2, SIGUSR2);
    socket_methods!(
        tokio::net::TcpListener,
        tokio::net::TcpStream,
        hyper: hyper_util::rt::TokioIo::new,
        tokio::io::AsyncReadExt,
        tokio::io::AsyncWriteExt
    );

    type Tx<T: Send + 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::mpsc::Receiver<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        assert!(tx.send(value).await.is_ok(), "receiver alive");
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await
    }
    type Mutex = tokio::sync::Mutex<u64>;
    fn mutex() -> Self::Mutex {
        tokio::sync::Mutex::new(0)
    }
    async fn increment(mutex: &Self::Mutex) {
        *mutex.lock().await += 1;
    }
    type Semaphore = tokio::sync::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }
    async fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> F::Output {
        let _permit = semaphore.acquire().await.expect("semaphore open");
        future.await
    }
    type OneshotTx = tokio::sync::oneshot::Sender<usize>;
    type OneshotRx = tokio::sync::oneshot::Receiver<usize>;
    fn oneshot() -> (Self::OneshotTx, Self::OneshotRx) {
        tokio::sync::oneshot::channel()
    }
    fn oneshot_send(tx: Self::OneshotTx, value: usize) {
        assert!(tx.send(value).is_ok(), "receiver alive");
    }
    async fn oneshot_recv(rx: Self::OneshotRx) -> Option<usize> {
        rx.await.ok()
    }
    type BroadcastTx = tokio::sync::broadcast::Sender<u64>;
    type BroadcastRx = tokio::sync::broadcast::Receiver<u64>;
    fn broadcast(cap: usize, receivers: usize) -> (Self::BroadcastTx, Vec<Self::BroadcastRx>) {
        let (tx, _) = tokio::sync::broadcast::channel(cap);
        let rxs = (0..receivers).map(|_| tx.subscribe()).collect();
        (tx, rxs)
    }
    fn broadcast_send(tx: &Self::BroadcastTx, value: u64) {
        assert!(tx.send(value).is_ok(), "receivers alive");
    }
    async fn broadcast_recv(rx: &mut Self::BroadcastRx) -> Received {
        use tokio::sync::broadcast::error::RecvError;
        match rx.recv().await {
            Ok(value) => Received::Message(value),
            Err(RecvError::Lagged(n)) => Received::Lagged(n),
            Err(RecvError::Closed) => Received::Closed,
        }
    }
    type Notify = tokio::sync::Notify;
    fn notify() -> Self::Notify {
        tokio::sync::Notify::new()
    }
    fn notify_one(notify: &Self::Notify) {
        notify.notify_one();
    }
    fn notified(notify: &Self::Notify) -> impl Future<Output = ()> + Send + '_ {
        notify.notified()
    }
    type RwLock = tokio::sync::RwLock<u64>;
    fn rwlock() -> Self::RwLock {
        tokio::sync::RwLock::new(0)
    }
    async fn read_value(lock: &Self::RwLock) -> u64 {
        *lock.read().await
    }
    async fn write_increment(lock: &Self::RwLock) {
        *lock.write().await += 1;
    }
    type Barrier = tokio::sync::Barrier;
    fn barrier(n: usize) -> Self::Barrier {
        tokio::sync::Barrier::new(n)
    }
    async fn barrier_wait(barrier: &Self::Barrier) {
        barrier.wait().await;
    }
    type OnceCell = tokio::sync::OnceCell<u64>;
    fn once_cell() -> Self::OnceCell {
        tokio::sync::OnceCell::new()
    }
    async fn once_get(cell: &Self::OnceCell) -> u64 {
        *cell
            .get_or_init(|| async {
                tokio::task::yield_now().await;
                42
            })
            .await
    }
    async fn spawn_true_and_wait() {
        let mut child = tokio::process::Command::new("true").spawn().unwrap();
        assert!(child.wait().await.unwrap().success());
    }
    async fn through_cat(&self, bytes: Arc<Vec<u8>>) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut cat = tokio::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        let writer = self.spawn(async move {
            stdin.write_all(&bytes).await.unwrap();
        });
        let mut out = Vec::new();
        cat.stdout
            .take()
            .unwrap()
            .read_to_end(&mut out)
            .await
            .unwrap();
        writer.await;
        assert!(cat.wait().await.unwrap().success());
        out
    }
    async fn read_file(path: &Path) -> Vec<u8> {
        tokio::fs::read(path).await.unwrap()
    }
    async fn write_file<'a>(path: &'a Path, contents: &'a [u8]) {
        tokio::fs::write(path, contents).await.unwrap();
    }
    try_read_ping_pong!(
        tokio::net::TcpListener,
        tokio::net::TcpStream,
        tokio::io::AsyncWriteExt
    );
}

impl TokioShaped for Tokio {
    type WatchTx = tokio::sync::watch::Sender<usize>;
    type WatchRx = tokio::sync::watch::Receiver<usize>;
    fn watch() -> (Self::WatchTx, Self::WatchRx) {
        tokio::sync::watch::channel(0)
    }
    fn watch_subscribe(tx: &Self::WatchTx) -> Self::WatchRx {
        tx.subscribe()
    }
    fn watch_send(tx: &Self::WatchTx, value: usize) {
        assert!(tx.send(value).is_ok(), "receivers alive");
    }
    async fn watch_changed(rx: &mut Self::WatchRx) -> Option<usize> {
        rx.changed().await.ok()?;
        Some(*rx.borrow_and_update())
    }
    type Token = tokio_util::sync::CancellationToken;
    fn token() -> Self::Token {
        tokio_util::sync::CancellationToken::new()
    }
    fn child_token(token: &Self::Token) -> Self::Token {
        token.child_token()
    }
    fn cancel(token: &Self::Token) {
        token.cancel();
    }
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_ {
        token.cancelled()
    }
    socket_connects!(tokio::net::TcpSocket);
}
