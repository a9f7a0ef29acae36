//! Wire formats: UUIDs, timestamps, decimals (SPEC §1.1, §1.2).

pub(crate) mod json;
pub(crate) mod number;
pub(crate) mod time;
pub(crate) mod uuid;
