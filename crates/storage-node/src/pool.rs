//! A small pool of large byte buffers, so that streams of pieces reuse memory the kernel has
//! already mapped instead of faulting in fresh pages for every piece (measured: page faults and
//! zeroing were a tenth of a put's CPU time).

use std::sync::{Arc, Mutex, PoisonError};

/// Buffers larger than this are not kept.
const MAX_KEPT_BUFFER: usize = 64 * 1024 * 1024;

/// A shared pool of at most `keep` buffers.
#[derive(Debug, Clone)]
pub struct BufferPool {
    buffers: Arc<Mutex<Vec<Vec<u8>>>>,
    keep: usize,
}

impl BufferPool {
    /// A pool keeping at most `keep` buffers.
    pub fn new(keep: usize) -> BufferPool {
        BufferPool {
            buffers: Arc::default(),
            keep,
        }
    }

    /// A buffer (empty, with whatever capacity it had).
    pub fn take(&self) -> Vec<u8> {
        let mut buffer = self
            .buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        buffer.clear();
        buffer
    }

    /// Gives a buffer back for reuse (dropped if the pool is full or the buffer huge).
    pub fn give(&self, buffer: Vec<u8>) {
        if buffer.capacity() > MAX_KEPT_BUFFER {
            return;
        }
        let mut buffers = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        if buffers.len() < self.keep {
            buffers.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_the_pool_is_bounded() {
        let pool = BufferPool::new(1);
        let mut first = pool.take();
        first.extend_from_slice(&[1, 2, 3]);
        let capacity = first.capacity();
        pool.give(first);
        pool.give(vec![9; 10]); // over the bound: dropped
        let again = pool.take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), capacity);
        assert_eq!(pool.take().capacity(), 0);
    }
}
