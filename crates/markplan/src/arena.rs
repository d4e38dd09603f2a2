//! Bookkeeping for the executable arena: which granules of it are in use.
//! The arena itself (reserved module text) and the writes into it live in
//! the kernel module; this is the allocator's pure part.

use alloc::vec::Vec;

/// First-fit allocator over `granules` granules of `GRANULE` bytes.
#[derive(Debug)]
pub struct Arena {
    used: Vec<bool>,
}

/// Allocation unit in bytes; every allocation starts 64-byte aligned.
pub const GRANULE: usize = 64;

impl Arena {
    /// An arena of `size` bytes (rounded down to whole granules).
    pub fn new(size: usize) -> Option<Arena> {
        let mut used = Vec::new();
        used.try_reserve_exact(size / GRANULE).ok()?;
        used.resize(size / GRANULE, false);
        Some(Arena { used })
    }

    fn granules(len: usize) -> usize {
        len.div_ceil(GRANULE).max(1)
    }

    /// Allocates `len` bytes; returns the offset in the arena.
    pub fn alloc(&mut self, len: usize) -> Option<usize> {
        let n = Self::granules(len);
        let mut run = 0;
        for i in 0..self.used.len() {
            run = if self.used[i] { 0 } else { run + 1 };
            if run == n {
                let first = i + 1 - n;
                self.used[first..=i].iter_mut().for_each(|u| *u = true);
                return Some(first * GRANULE);
            }
        }
        None
    }

    /// Frees what `alloc(len)` returned at `offset`.
    pub fn free(&mut self, offset: usize, len: usize) {
        let first = offset / GRANULE;
        let end = (first + Self::granules(len)).min(self.used.len());
        if let Some(s) = self.used.get_mut(first..end) {
            s.iter_mut().for_each(|u| *u = false);
        }
    }

    /// Bytes in use (whole granules).
    pub fn used_bytes(&self) -> usize {
        self.used.iter().filter(|&&u| u).count() * GRANULE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_reuses_freed_space_and_reports_use() {
        let mut a = Arena::new(4 * GRANULE).unwrap();
        assert_eq!(a.alloc(10), Some(0));
        assert_eq!(a.alloc(GRANULE + 1), Some(GRANULE));
        assert_eq!(a.used_bytes(), 3 * GRANULE);
        assert_eq!(a.alloc(2 * GRANULE), None);
        a.free(0, 10);
        assert_eq!(a.alloc(GRANULE), Some(0));
        a.free(GRANULE, GRANULE + 1);
        assert_eq!(a.alloc(2 * GRANULE), Some(GRANULE));
        a.free(0, 1);
        a.free(GRANULE, 2 * GRANULE);
        assert_eq!(a.used_bytes(), 0);
    }
}
