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
pub(crate) struct Filch(
    Arc<filch::Runtime>,
    /// Kept for its drop: stops the current-thread runtime's own thread.
    #[allow(dead_code)]
    Option<Arc<DriverThread>>,
);

impl Filch {
    /// The runtime's handle: for `--timeline`.
    pub(crate) fn handle(&self) -> filch::Handle {
        self.0.handle()
    }
}

impl Rt for Filch {
    const NAME: &'static str = "filch";
    type Join<T: Send + 'static> = Unwrap<filch::JoinHandle<T>>;

    fn new(workers: usize) -> Filch {
        if workers == 0 {
            let rt = Arc::new(
                filch::Builder::new_current_thread()
                    .build()
                    .expect("filch runtime"),
            );
            let driven = rt.clone();
            let driver = DriverThread::start("filch-ct", move |stopped| {
                let _ = driven.block_on(stopped);
            });
            return Filch(rt, Some(driver));
        }
        Filch(
            Arc::new(
                filch::Builder::new()
                    .worker_threads(workers)
                    .build()
                    .expect("filch runtime"),
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
        filch::yield_now()
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        filch::sleep(duration)
    }
    async fn timeout<F: Future + Send>(duration: Duration, future: F) -> Option<F::Output> {
        filch::timeout(duration, future).await.ok()
    }
    async fn join_all<F: Future + Send>(futures: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send,
    {
        filch::join_all(futures).await
    }
    async fn group<F: Future<Output = usize> + Send + 'static>(
        &self,
        n: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let group = filch::TaskGroup::new();
        for i in 0..n {
            group.spawn(async move { Ok::<_, ()>(make(i).await) });
        }
        group.join().await.unwrap().len()
    }
    async fn select_loop<F: Future<Output = usize> + Send>(
        rounds: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut sum = 0;
        for i in 0..rounds {
            filch::select! {
                v = make(i) => sum += v,
                _ = std::future::pending::<()>() => unreachable!(),
            }
        }
        sum
    }
    fn local_tasks(&self, n: usize) -> usize {
        self.0.block_on(async {
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..n)
                .map(|_| filch::spawn_local(local_task(count.clone(), filch::yield_now())))
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            count.get()
        })
    }
    signal_round_trips!(filch::signal::unix, user_defined1, SIGUSR1);
    // filch's streams implement hyper's `Read`/`Write` themselves (the `hyper` feature).
    socket_methods!(
        filch::net::TcpListener,
        filch::net::TcpStream,
        hyper: |stream: filch::net::TcpStream| stream
    );

    type Tx<T: Send + 'static> = filch::sync::mpmc::Sender<T>;
    type Rx<T: Send + 'static> = filch::sync::mpmc::Receiver<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        filch::sync::mpmc::bounded(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        assert!(tx.send(value).await.is_ok(), "receiver alive");
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
    type Mutex = filch::sync::Mutex<u64>;
    fn mutex() -> Self::Mutex {
        filch::sync::Mutex::new(0)
    }
    async fn increment(mutex: &Self::Mutex) {
        *mutex.lock().await += 1;
    }
    type Semaphore = filch::sync::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        filch::sync::Semaphore::new(permits)
    }
    async fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> F::Output {
        let _permit = semaphore.acquire().await;
        future.await
    }
    type OneshotTx = filch::sync::oneshot::Sender<usize>;
    type OneshotRx = filch::sync::oneshot::Receiver<usize>;
    fn oneshot() -> (Self::OneshotTx, Self::OneshotRx) {
        filch::sync::oneshot::channel()
    }
    fn oneshot_send(tx: Self::OneshotTx, value: usize) {
        assert!(tx.send(value).is_ok(), "receiver alive");
    }
    async fn oneshot_recv(rx: Self::OneshotRx) -> Option<usize> {
        rx.await.ok()
    }
    type BroadcastTx = filch::sync::broadcast::Sender<u64>;
    type BroadcastRx = filch::sync::broadcast::Receiver<u64>;
    fn broadcast(cap: usize, receivers: usize) -> (Self::BroadcastTx, Vec<Self::BroadcastRx>) {
        let (tx, _) = filch::sync::broadcast::channel(cap);
        let rxs = (0..receivers).map(|_| tx.subscribe()).collect();
        (tx, rxs)
    }
    fn broadcast_send(tx: &Self::BroadcastTx, value: u64) {
        assert!(tx.send(value).is_ok(), "receivers alive");
    }
    async fn broadcast_recv(rx: &mut Self::BroadcastRx) -> Received {
        use filch::sync::broadcast::RecvError;
        match rx.recv().await {
            Ok(value) => Received::Message(value),
            Err(RecvError::Lagged(n)) => Received::Lagged(n),
            Err(RecvError::Closed) => Received::Closed,
        }
    }
    type Notify = filch::sync::Notify;
    fn notify() -> Self::Notify {
        filch::sync::Notify::new()
    }
    fn notify_one(notify: &Self::Notify) {
        notify.notify_one();
    }
    fn notified(notify: &Self::Notify) -> impl Future<Output = ()> + Send + '_ {
        notify.notified()
    }
    type RwLock = filch::sync::RwLock<u64>;
    fn rwlock() -> Self::RwLock {
        filch::sync::RwLock::new(0)
    }
    async fn read_value(lock: &Self::RwLock) -> u64 {
        *lock.read().await
    }
    async fn write_increment(lock: &Self::RwLock) {
        *lock.write().await += 1;
    }
    type Barrier = filch::sync::Barrier;
    fn barrier(n: usize) -> Self::Barrier {
        filch::sync::Barrier::new(n)
    }
    async fn barrier_wait(barrier: &Self::Barrier) {
        barrier.wait().await;
    }
    type OnceCell = filch::sync::OnceCell<u64>;
    fn once_cell() -> Self::OnceCell {
        filch::sync::OnceCell::new()
    }
    async fn once_get(cell: &Self::OnceCell) -> u64 {
        *cell
            .get_or_init(|| async {
                filch::yield_now().await;
                42
            })
            .await
    }
    async fn spawn_true_and_wait() {
        let mut child = filch::process::Command::new("true").spawn().unwrap();
        assert!(child.wait().await.unwrap().success());
    }
    async fn through_cat(&self, bytes: Arc<Vec<u8>>) -> Vec<u8> {
        use filch::io::{AsyncReadExt, AsyncWriteExt};
        let mut cat = filch::process::Command::new("cat")
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
        filch::fs::read(path).await.unwrap()
    }
    async fn write_file<'a>(path: &'a Path, contents: &'a [u8]) {
        filch::fs::write(path, contents).await.unwrap();
    }
    try_read_ping_pong!(filch::net::TcpListener, filch::net::TcpStream);
}

impl TokioShaped for Filch {
    type WatchTx = filch::sync::watch::Sender<usize>;
    type WatchRx = filch::sync::watch::Receiver<usize>;
    fn watch() -> (Self::WatchTx, Self::WatchRx) {
        filch::sync::watch::channel(0)
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
    type Token = filch::sync::CancellationToken;
    fn token() -> Self::Token {
        filch::sync::CancellationToken::new()
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
    socket_connects!(filch::net::TcpSocket);
}
