//! The smallest executor that drives erofs-rs's async reader: our [`AsyncImage`] reads complete
//! at once (they are plain positioned reads of a [`Source`]), so every future the crate builds
//! is ready on its first poll. A future that stays pending under the no-op waker would never be
//! woken: that is reported as an error instead of spinning.
//!
//! [`AsyncImage`]: erofs_rs::backend::AsyncImage
//! [`Source`]: crate::source::Source

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Polls a pending future may get in a row before it counts as stuck: a future that yields
/// once on purpose still completes, one that waits on a wake-up that never comes does not
/// spin forever.
const PATIENCE: usize = 16;

/// Runs `fut` to completion on this thread; `None` when it stayed pending ([`PATIENCE`] polls
/// in a row with nothing to wake it).
pub fn block_on<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..PATIENCE {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_futures_complete() {
        assert_eq!(block_on(async { 6 * 7 }), Some(42));
    }

    #[test]
    fn a_future_that_yields_once_completes() {
        let mut yielded = false;
        let fut = std::future::poll_fn(|_| {
            if yielded {
                Poll::Ready(1)
            } else {
                yielded = true;
                Poll::Pending
            }
        });
        assert_eq!(block_on(fut), Some(1));
    }

    #[test]
    fn a_future_never_woken_is_an_error_not_a_hang() {
        assert_eq!(block_on(std::future::pending::<()>()), None);
    }
}
