//! The `sockctl` command-line tool.
fn main() {}
