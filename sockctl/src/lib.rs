//! `sockctl`: the safe, convenient AF_XDP API and the `sockctl` tool.
#![forbid(unsafe_op_in_unsafe_fn)]
