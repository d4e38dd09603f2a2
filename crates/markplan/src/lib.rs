//! markplan: the pure logic of markpatch.
//!
//! Everything here works on plain bytes and addresses, so the same source is
//! compiled into the kernel module and tested on the host with `cargo test`.
//! Nothing in this crate touches memory it was not handed.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod decode;
pub mod input;
pub mod kcfi;
pub mod marks;
pub mod naive;
pub mod plan;
pub mod pseudo_original;
pub mod quota;
pub mod quota_file;
pub mod refusal;
pub mod resolve;
pub mod arena;
pub mod calls;
pub mod stub;

/// The bytes of the kernel module's allocation reserve (src/ksys/reserve.rs):
/// no call the module makes into this crate or iced-x86 asks for more, in
/// total, even with every allocation refused (tests/alloc_bound.rs measures
/// it over every function of the corpus).
pub const ALLOC_RESERVE: usize = 64 * 1024;

/// The bytes of the block the kernel module builds iced-x86's tables in at
/// load (src/ksys/iced_tables.rs), served as a bump allocator that never
/// reuses: [`decode::warm_up`] asks for less than this in total
/// (tests/iced_tables.rs measures it).
pub const ICED_TABLES_BLOCK: usize = 2560 * 1024;
