//! The CPU pool every image decode runs in: thumbnails, photo-search queries and descriptor
//! jobs alike.
//!
//! Two semaphores bound the work before it starts: the **memory budget**
//! (`IMAGE_MEMORY_BUDGET_BYTES`, weighted by width × height × 4 of the source, read from its
//! header) and the **CPU permits** (`THREAD_POOL_SIZE`). An image larger than the whole budget
//! takes all of it and runs alone. The permits move into the blocking task, so a request that
//! is dropped mid-decode keeps its share until the decode really ends.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits for one decode; released on drop.
pub struct PoolPermit {
    _memory: OwnedSemaphorePermit,
    _cpu: OwnedSemaphorePermit,
}

/// The shared pool (cheap to clone).
#[derive(Clone)]
pub struct CpuPool {
    cpu: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    memory_kib: u32,
}

impl std::fmt::Debug for CpuPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuPool")
            .field("cpu_permits", &self.cpu.available_permits())
            .field("memory_kib", &self.memory_kib)
            .finish()
    }
}

impl CpuPool {
    pub fn new(threads: usize, memory_budget_bytes: u64) -> Self {
        let memory_kib = (memory_budget_bytes / 1024).clamp(1, u64::from(u32::MAX >> 4)) as u32;
        Self {
            cpu: Arc::new(Semaphore::new(threads.max(1))),
            memory: Arc::new(Semaphore::new(memory_kib as usize)),
            memory_kib,
        }
    }

    /// The whole memory budget, in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Memory budget still free, in bytes (for health and tests).
    pub fn memory_available(&self) -> u64 {
        self.memory.available_permits() as u64 * 1024
    }

    /// CPU permits free now.
    pub fn cpu_available(&self) -> usize {
        self.cpu.available_permits()
    }

    /// Waits for budget to decode a `width × height` source, then for a CPU permit.
    pub async fn acquire(&self, width: u32, height: u32) -> PoolPermit {
        let need_kib = (u64::from(width) * u64::from(height) * 4 / 1024)
            .clamp(1, u64::from(self.memory_kib)) as u32;
        // The semaphores are never closed, so acquiring cannot fail; `expect` documents it.
        let memory = self
            .memory
            .clone()
            .acquire_many_owned(need_kib)
            .await
            .expect("the memory semaphore is never closed");
        let cpu = self
            .cpu
            .clone()
            .acquire_owned()
            .await
            .expect("the CPU semaphore is never closed");
        PoolPermit {
            _memory: memory,
            _cpu: cpu,
        }
    }

    /// Runs `f` on the blocking pool once a `width × height` decode fits, holding the permits
    /// until `f` returns. `Err` only when the blocking task panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        width: u32,
        height: u32,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        let permit = self.acquire(width, height).await;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn permits_are_held_until_the_work_ends_and_a_huge_image_takes_the_whole_budget() {
        let pool = CpuPool::new(2, 4 << 20);
        assert_eq!(pool.memory_available(), 4 << 20);
        let permit = pool.acquire(100_000, 100_000).await;
        assert_eq!(pool.memory_available(), 0);
        assert_eq!(pool.cpu_available(), 1);
        drop(permit);
        assert_eq!(pool.memory_available(), 4 << 20);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p2 = pool.clone();
        let running =
            tokio::spawn(async move { p2.run(512, 512, move || rx.recv().is_ok()).await });
        tokio::task::yield_now().await;
        while pool.cpu_available() == 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.memory_available(), (4 << 20) - 512 * 512 * 4);
        tx.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert_eq!(pool.memory_available(), 4 << 20);
        assert_eq!(pool.cpu_available(), 2);
    }
}
