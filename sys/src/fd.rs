//! File descriptor ownership: [`OwnedFd`] closes on drop, [`BorrowedFd`]
//! cannot outlive the fd it borrows. An fd crosses an API boundary as one of
//! these, never as a bare `i32`.

use core::fmt;
use core::marker::PhantomData;

use crate::arch::{nr, syscall1};

/// An open file descriptor, closed when dropped.
pub struct OwnedFd {
    fd: i32,
}

/// A file descriptor borrowed from an owner that outlives `'fd`.
#[derive(Clone, Copy)]
pub struct BorrowedFd<'fd> {
    fd: i32,
    _owner: PhantomData<&'fd OwnedFd>,
}

impl OwnedFd {
    /// Takes ownership of a raw fd.
    ///
    /// # Safety
    /// `fd` is open and nothing else will close it.
    #[inline]
    pub const unsafe fn from_raw(fd: i32) -> Self {
        OwnedFd { fd }
    }

    /// Borrows this fd.
    #[inline]
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        BorrowedFd {
            fd: self.fd,
            _owner: PhantomData,
        }
    }

    /// The raw fd, still owned by `self`.
    #[inline]
    pub fn as_raw(&self) -> i32 {
        self.fd
    }

    /// Gives up ownership: the caller must close the returned fd.
    #[inline]
    pub fn into_raw(self) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }
}

impl Drop for OwnedFd {
    fn drop(&mut self) {
        // SAFETY: we own the fd. Errors (even EINTR) are ignored: on Linux the
        // fd is released whatever close returns, and retrying could close an
        // fd another thread has just been given.
        unsafe {
            syscall1(nr::CLOSE, self.fd as usize);
        }
    }
}

impl fmt::Debug for OwnedFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedFd").field(&self.fd).finish()
    }
}

impl BorrowedFd<'_> {
    /// Borrows a raw fd.
    ///
    /// # Safety
    /// `fd` stays open for the lifetime of the result.
    #[inline]
    pub const unsafe fn borrow_raw(fd: i32) -> Self {
        BorrowedFd {
            fd,
            _owner: PhantomData,
        }
    }

    /// The raw fd.
    #[inline]
    pub fn as_raw(&self) -> i32 {
        self.fd
    }
}

impl fmt::Debug for BorrowedFd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BorrowedFd").field(&self.fd).finish()
    }
}

#[cfg(feature = "std")]
mod std_conversions {
    use super::{BorrowedFd, OwnedFd};
    use std::os::fd::{self as sfd, AsRawFd, FromRawFd, IntoRawFd};

    impl From<OwnedFd> for sfd::OwnedFd {
        fn from(fd: OwnedFd) -> Self {
            // SAFETY: ownership moves from one owner type to the other.
            unsafe { sfd::OwnedFd::from_raw_fd(fd.into_raw()) }
        }
    }

    impl From<sfd::OwnedFd> for OwnedFd {
        fn from(fd: sfd::OwnedFd) -> Self {
            // SAFETY: ownership moves from one owner type to the other.
            unsafe { OwnedFd::from_raw(fd.into_raw_fd()) }
        }
    }

    impl<'a> From<sfd::BorrowedFd<'a>> for BorrowedFd<'a> {
        fn from(fd: sfd::BorrowedFd<'a>) -> Self {
            // SAFETY: the std borrow guarantees the fd is open for 'a.
            unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) }
        }
    }

    impl<'a> From<BorrowedFd<'a>> for sfd::BorrowedFd<'a> {
        fn from(fd: BorrowedFd<'a>) -> Self {
            // SAFETY: our borrow guarantees the fd is open for 'a.
            unsafe { sfd::BorrowedFd::borrow_raw(fd.as_raw()) }
        }
    }

    impl sfd::AsFd for OwnedFd {
        fn as_fd(&self) -> sfd::BorrowedFd<'_> {
            self.as_fd().into()
        }
    }

    impl sfd::AsRawFd for OwnedFd {
        fn as_raw_fd(&self) -> sfd::RawFd {
            self.as_raw()
        }
    }
}
