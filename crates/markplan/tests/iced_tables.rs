//! What building iced-x86's tables asks for (markplan::decode::warm_up).
//!
//! The kernel module builds them once, at load, in a block of
//! [`ICED_TABLES_BLOCK`] bytes served as a bump allocator that never reuses
//! (src/ksys/iced_tables.rs): the build must fit, counting every size asked
//! (each `realloc` at its whole new size) with its alignment as padding.
//! Its own test binary, so that nothing built the tables before.

use markplan::ICED_TABLES_BLOCK;

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static COUNTING: counting::Counting = counting::Counting;

#[test]
fn building_the_tables_fits_their_block() {
    let ((), asked) = counting::measure(markplan::decode::warm_up);
    eprintln!(
        "iced-x86 tables: {} allocations, {} bytes asked with alignment, the largest {}; block {ICED_TABLES_BLOCK}",
        asked.calls, asked.bytes, asked.largest
    );
    // The tables were really built here (a first use), not found built.
    assert!(asked.bytes > 512 * 1024, "{}", asked.bytes);
    assert!(asked.bytes <= ICED_TABLES_BLOCK, "{} > {ICED_TABLES_BLOCK}", asked.bytes);
}
