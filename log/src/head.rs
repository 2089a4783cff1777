//! The head position, shared with followers so they can wait for new events.

use tokio::sync::watch;

/// Publishes the highest committed global position known to this process.
///
/// Writers call [`Head::advance`] right after their commit (never inside the transaction, so
/// waking readers cannot serialise commits); cross-process signals advance it too.
#[derive(Debug, Clone)]
pub struct Head {
    sender: watch::Sender<u64>,
}

impl Head {
    /// A head starting at `position`.
    pub fn new(position: u64) -> Self {
        Head {
            sender: watch::Sender::new(position),
        }
    }

    /// Raises the head to `position` if it is higher; wakes the followers if so.
    pub fn advance(&self, position: u64) {
        self.sender.send_if_modified(|head| {
            if position > *head {
                *head = position;
                true
            } else {
                false
            }
        });
    }

    /// Wakes the followers without a known position (they re-read the store).
    pub fn poke(&self) {
        self.sender.send_modify(|_| {});
    }

    /// The highest position seen so far.
    pub fn get(&self) -> u64 {
        *self.sender.borrow()
    }

    /// A receiver for followers.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}
