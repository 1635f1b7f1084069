#[cfg(feature = "hyper")]
use super::io::hyper_hello;
use super::io::{
    find, heap_in_use, raise, EchoRun, HttpServer, ManyConnections, HELLO, MANY_LISTENERS,
};
use super::{local_task, Received, Rt};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub(crate) struct Smol(Arc<SmolPool>);

pub(crate) struct SmolPool {
    executor: Arc<smol::Executor<'static>>,
    /// Closing it (on drop) stops the executor threads.
    stop: Option<smol::channel::Sender<()>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.get_mut().unwrap().drain(..) {
            let _ = thread.join();
        }
    }
}

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Join<T: Send + 'static> = smol::Task<T>;

    fn new(workers: usize) -> Smol {
        // The current-thread column: one thread runs the executor (see `DriverThread`).
        let workers = workers.max(1);
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let threads = (0..workers)
            .map(|i| {
                let (executor, stopped) = (executor.clone(), stopped.clone());
                std::thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        let _ = smol::block_on(executor.run(stopped.recv()));
                    })
                    .expect("smol thread")
            })
            .collect();
        Smol(Arc::new(SmolPool {
            executor,
            stop: Some(stop),
            threads: Mutex::new(threads),
        }))
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.executor.spawn(future)
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.0.executor.spawn(future).detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }
    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }
    async fn timeout<F: Future + Send>(duration: Duration, future: F) -> Option<F::Output> {
        smol::future::or(async { Some(future.await) }, async {
            smol::Timer::after(duration).await;
            None
        })
        .await
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
        let tasks: Vec<_> = (0..n).map(|i| self.0.executor.spawn(make(i))).collect();
        let mut done = 0;
        for task in tasks {
            task.await;
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
            sum += smol::future::or(make(i), std::future::pending()).await;
        }
        sum
    }
    fn local_tasks(&self, n: usize) -> usize {
        let local = smol::LocalExecutor::new();
        smol::block_on(local.run(async {
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..n)
                .map(|_| local.spawn(local_task(count.clone(), smol::future::yield_now())))
                .collect();
            for task in tasks {
                task.await;
            }
            count.get()
        }))
    }
    fn signal_round_trips(&self, rounds: usize) {
        use async_signal::{Signal, Signals};
        use smol::stream::StreamExt;
        let task = self.0.executor.spawn(async move {
            let mut signals = Signals::new([Signal::Winch]).expect("SIGWINCH listener");
            for _ in 0..rounds {
                raise(libc::SIGWINCH);
                signals.next().await.expect("SIGWINCH").expect("SIGWINCH");
            }
        });
        smol::block_on(task);
    }
    // smol-hyper's adapter from `futures-io`: it zeroes hyper's read buffer before every read
    // (`futures-io` reads take an initialised slice) and leaves `is_write_vectored` false.
    socket_methods!(
        smol::net::TcpListener,
        smol::net::TcpStream,
        hyper: smol_hyper::rt::FuturesIo::new,
        smol::io::AsyncReadExt,
        smol::io::AsyncWriteExt
    );

    type Tx<T: Send + 'static> = smol::channel::Sender<T>;
    type Rx<T: Send + 'static> = smol::channel::Receiver<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        smol::channel::bounded(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        assert!(tx.send(value).await.is_ok(), "receiver alive");
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
    type Mutex = smol::lock::Mutex<u64>;
    fn mutex() -> Self::Mutex {
        smol::lock::Mutex::new(0)
    }
    async fn increment(mutex: &Self::Mutex) {
        *mutex.lock().await += 1;
    }
    type Semaphore = smol::lock::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        smol::lock::Semaphore::new(permits)
    }
    async fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> F::Output {
        let _permit = semaphore.acquire().await;
        future.await
    }
    type OneshotTx = smol::channel::Sender<usize>;
    type OneshotRx = smol::channel::Receiver<usize>;
    fn oneshot() -> (Self::OneshotTx, Self::OneshotRx) {
        smol::channel::bounded(1)
    }
    fn oneshot_send(tx: Self::OneshotTx, value: usize) {
        assert!(tx.try_send(value).is_ok(), "receiver alive, channel empty");
    }
    async fn oneshot_recv(rx: Self::OneshotRx) -> Option<usize> {
        rx.recv().await.ok()
    }
    type BroadcastTx = async_broadcast::Sender<u64>;
    type BroadcastRx = async_broadcast::Receiver<u64>;
    fn broadcast(cap: usize, receivers: usize) -> (Self::BroadcastTx, Vec<Self::BroadcastRx>) {
        let (mut tx, rx) = async_broadcast::broadcast(cap);
        tx.set_overflow(true);
        let rxs = (0..receivers).map(|_| rx.new_receiver()).collect();
        (tx, rxs)
    }
    fn broadcast_send(tx: &Self::BroadcastTx, value: u64) {
        assert!(tx.try_broadcast(value).is_ok(), "receivers alive");
    }
    async fn broadcast_recv(rx: &mut Self::BroadcastRx) -> Received {
        use async_broadcast::RecvError;
        match rx.recv().await {
            Ok(value) => Received::Message(value),
            Err(RecvError::Overflowed(n)) => Received::Lagged(n),
            Err(RecvError::Closed) => Received::Closed,
        }
    }
    type Notify = FlagEvent;
    fn notify() -> Self::Notify {
        FlagEvent {
            permit: AtomicBool::new(false),
            event: event_listener::Event::new(),
        }
    }
    fn notify_one(notify: &Self::Notify) {
        notify.permit.store(true, SeqCst);
        notify.event.notify(1);
    }
    async fn notified(notify: &Self::Notify) {
        loop {
            if notify.permit.swap(false, SeqCst) {
                return;
            }
            let listener = notify.event.listen();
            if notify.permit.swap(false, SeqCst) {
                return;
            }
            listener.await;
        }
    }
    type RwLock = smol::lock::RwLock<u64>;
    fn rwlock() -> Self::RwLock {
        smol::lock::RwLock::new(0)
    }
    async fn read_value(lock: &Self::RwLock) -> u64 {
        *lock.read().await
    }
    async fn write_increment(lock: &Self::RwLock) {
        *lock.write().await += 1;
    }
    type Barrier = smol::lock::Barrier;
    fn barrier(n: usize) -> Self::Barrier {
        smol::lock::Barrier::new(n)
    }
    async fn barrier_wait(barrier: &Self::Barrier) {
        barrier.wait().await;
    }
    type OnceCell = smol::lock::OnceCell<u64>;
    fn once_cell() -> Self::OnceCell {
        smol::lock::OnceCell::new()
    }
    async fn once_get(cell: &Self::OnceCell) -> u64 {
        *cell
            .get_or_init(|| async {
                smol::future::yield_now().await;
                42
            })
            .await
    }
    async fn spawn_true_and_wait() {
        // async-process has no `wait`: `status` is it (it drops stdin first, which is not piped).
        let mut child = smol::process::Command::new("true").spawn().unwrap();
        assert!(child.status().await.unwrap().success());
    }
    async fn through_cat(&self, bytes: Arc<Vec<u8>>) -> Vec<u8> {
        use smol::io::{AsyncReadExt, AsyncWriteExt};
        let mut cat = smol::process::Command::new("cat")
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
        assert!(cat.status().await.unwrap().success());
        out
    }
    async fn read_file(path: &Path) -> Vec<u8> {
        smol::fs::read(path).await.unwrap()
    }
    async fn write_file<'a>(path: &'a Path, contents: &'a [u8]) {
        smol::fs::write(path, contents).await.unwrap();
    }
    fn try_read_ping_pong(&self, rounds: usize) {
        use smol::io::AsyncWriteExt;
        use smol::Async;
        use std::net::{TcpListener, TcpStream};
        /// One byte: `readable().await` (async-io's: it waits for a reactor event that came
        /// after it was called), then a read on the inner stream, again while it would block.
        async fn read_byte(stream: &Async<TcpStream>) -> u8 {
            use std::io::Read;
            let mut byte = [0u8; 1];
            loop {
                stream.readable().await.unwrap();
                match stream.get_ref().read(&mut byte) {
                    Ok(1) => return byte[0],
                    Ok(_) => panic!("the peer closed the stream"),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
        let rt = self.clone();
        self.block_on(self.spawn(async move {
            let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
            let addr = listener.get_ref().local_addr().unwrap();
            let echo = rt.spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.get_ref().set_nodelay(true).unwrap();
                for _ in 0..rounds {
                    let byte = read_byte(&stream).await;
                    stream.write_all(&[byte]).await.unwrap();
                }
            });
            let mut stream = Async::<TcpStream>::connect(addr).await.unwrap();
            stream.get_ref().set_nodelay(true).unwrap();
            for i in 0..rounds {
                stream.write_all(&[i as u8]).await.unwrap();
                assert_eq!(read_byte(&stream).await, i as u8);
            }
            echo.await;
        }));
    }
}

/// smol's stand-in for tokio's `Notify` (one waiter): a permit flag and an event-listener
/// `Event`, waited on as event-listener's documentation shows: check, listen, check again, wait.
/// SeqCst on the flag: `notify` and `listen` are full fences, which the flag's store and loads
/// pair with.
pub(crate) struct FlagEvent {
    permit: AtomicBool,
    event: event_listener::Event,
}
