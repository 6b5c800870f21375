//! The kernel's user-space ABI, one module per header family.
//!
//! Struct names are the kernel's in Rust case (`struct xdp_desc` is
//! [`if_xdp::XdpDesc`]); field names are the kernel's. Every struct is
//! `#[repr(C)]`, has explicit padding where the kernel has implicit padding
//! (so that a zeroed value is fully initialised), and sits beside a
//! compile-time assertion of its size and field offsets.
//!
//! Constants whose value differs between architectures are given for the
//! asm-generic ABI shared by x86_64 and aarch64, the two architectures that
//! `afxdp-sys` supports.

pub mod bpf;
pub mod ethtool;
pub mod if_xdp;
pub mod mman;
pub mod rtnetlink;
pub mod socket;

/// Asserts at compile time that `$ty` is `$size` bytes and that each named
/// field sits at the given offset.
macro_rules! assert_layout {
    ($ty:ty, size = $size:expr $(, $field:ident @ $off:expr)* $(,)?) => {
        const _: () = {
            assert!(::core::mem::size_of::<$ty>() == $size);
            $(assert!(::core::mem::offset_of!($ty, $field) == $off);)*
        };
    };
}
pub(crate) use assert_layout;
