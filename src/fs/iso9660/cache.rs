//! A least-recently-used cache of decoded directories, bounded by a total cost (the number of
//! entries they hold), so the memory of a walk does not grow with the size of the image.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::fs::Ino;
use hashbrown::HashMap;

/// Values kept by key until the total cost passes the budget; then the least recently used
/// go first, but never the newest value nor its ancestors (whatever their cost), so a
/// depth-first walk does not read a large directory again after each of its subdirectories.
pub struct Lru<V> {
    budget: usize,
    total: usize,
    clock: u64,
    /// The value, its cost and its last use.
    map: HashMap<Ino, (Arc<V>, usize, u64)>,
    /// Last use -> key, oldest first.
    order: BTreeMap<u64, Ino>,
}

impl<V> Lru<V> {
    pub fn new(budget: usize) -> Self {
        Lru {
            budget,
            total: 0,
            clock: 0,
            map: HashMap::default(),
            order: BTreeMap::new(),
        }
    }

    /// The value of `key`, now the most recently used.
    pub fn get(&mut self, key: Ino) -> Option<Arc<V>> {
        let (value, _, used) = self.map.get_mut(&key)?;
        self.order.remove(used);
        self.clock += 1;
        *used = self.clock;
        self.order.insert(self.clock, key);
        Some(value.clone())
    }

    /// Keeps `value` under `key`, then drops the least recently used values over the budget,
    /// except `key` and its `ancestors` (nearest first), which are passed over where they
    /// stand (not made recent: a depth-first walk would do that for every directory it reads).
    pub fn insert(&mut self, key: Ino, value: Arc<V>, cost: usize, ancestors: &[Ino]) {
        self.remove(key);
        self.clock += 1;
        self.map.insert(key, (value, cost, self.clock));
        self.order.insert(self.clock, key);
        self.total += cost;
        let mut kept = 0;
        while self.total > self.budget {
            let Some((_, &oldest)) = self.order.iter().nth(kept) else {
                break;
            };
            if oldest == key || ancestors.contains(&oldest) {
                kept += 1;
                continue;
            }
            self.remove(oldest);
        }
    }

    fn remove(&mut self, key: Ino) {
        if let Some((_, cost, used)) = self.map.remove(&key) {
            self.order.remove(&used);
            self.total -= cost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_goes_first_and_newest_stays() {
        let mut lru = Lru::new(10);
        lru.insert(1, Arc::new("a"), 4, &[]);
        lru.insert(2, Arc::new("b"), 4, &[]);
        assert!(lru.get(1).is_some());
        lru.insert(3, Arc::new("c"), 4, &[]);
        assert!(lru.get(2).is_none(), "2 was the least recently used");
        assert!(lru.get(1).is_some() && lru.get(3).is_some());
        lru.insert(4, Arc::new("big"), 100, &[]);
        assert!(lru.get(4).is_some(), "the newest is kept whatever its cost");
        assert!(lru.get(1).is_none() && lru.get(3).is_none());
        lru.insert(4, Arc::new("small"), 1, &[]);
        assert_eq!(lru.get(4).as_deref(), Some(&"small"));
        assert_eq!(lru.total, 1);
    }

    #[test]
    fn ancestors_of_the_newest_stay() {
        let mut lru = Lru::new(10);
        lru.insert(9, Arc::new("other"), 1, &[]);
        lru.insert(1, Arc::new("root"), 3, &[]);
        lru.insert(2, Arc::new("big"), 20, &[1]);
        assert!(lru.get(9).is_none(), "not an ancestor: evicted");
        lru.insert(3, Arc::new("child"), 1, &[2, 1]);
        assert!(lru.get(1).is_some() && lru.get(2).is_some() && lru.get(3).is_some());
        lru.insert(4, Arc::new("sibling"), 1, &[2, 1]);
        assert!(
            lru.get(2).is_some(),
            "the large parent stays while its children are read"
        );
        assert!(lru.get(3).is_none(), "the previous child goes");
    }
}
