//! The dissemination queue: membership updates waiting to be piggybacked or gossiped,
//! each sent a bounded number of times (SWIM's λ·log n), least-sent first.
//!
//! Newer knowledge about a member replaces older knowledge in the queue (there is no
//! point spreading an `Alive` that a `Dead` has overtaken), except that suspect reports
//! from *different* accusers are kept side by side: they are Lifeguard's independent
//! confirmations, and collapsing them would hide all but one witness.

use std::collections::BTreeMap;

use super::wire::Update;

#[derive(Clone, Debug)]
struct Entry {
    update: Update,
    transmits: u32,
    /// Insertion order, so that among equally-sent entries the newest goes first.
    id: u64,
}

/// Queued updates keyed by (member, accuser); the accuser is empty for anything but
/// suspect reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Queue {
    entries: BTreeMap<(String, String), Entry>,
    next_id: u64,
}

fn key(u: &Update) -> (String, String) {
    match u {
        Update::Suspect { name, from, .. } => (name.clone(), from.clone()),
        other => (other.name().to_owned(), String::new()),
    }
}

impl Queue {
    /// Queues `update`, dropping whatever it makes obsolete.
    pub(crate) fn push(&mut self, update: Update) {
        let name = update.name().to_owned();
        let inc = update.incarnation();
        let is_suspect = matches!(update, Update::Suspect { .. });
        self.entries.retain(|(n, _), e| {
            if *n != name {
                return true;
            }
            // A suspect report keeps other accusers' reports of the same incarnation.
            is_suspect
                && matches!(e.update, Update::Suspect { .. })
                && e.update.incarnation() >= inc
        });
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(
            key(&update),
            Entry {
                update,
                transmits: 0,
                id,
            },
        );
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops everything about `name` (it left, or was forgotten).
    pub(crate) fn forget(&mut self, name: &str) {
        self.entries.retain(|(n, _), _| n != name);
    }

    /// Takes updates for one datagram: first those about `about` (the recipient, so
    /// that it hears at once that it is suspected), then the least-sent, newest first,
    /// while they fit in `budget` bytes. Each taken update counts as one transmission
    /// and is retired after `limit` of them.
    pub(crate) fn take(
        &mut self,
        mut budget: usize,
        about: Option<&str>,
        limit: u32,
    ) -> Vec<Update> {
        // (not about the recipient, times sent, newest first, key)
        type Rank = (bool, u32, std::cmp::Reverse<u64>, (String, String));
        let mut order: Vec<Rank> = self
            .entries
            .iter()
            .map(|(k, e)| {
                (
                    about != Some(k.0.as_str()),
                    e.transmits,
                    std::cmp::Reverse(e.id),
                    k.clone(),
                )
            })
            .collect();
        order.sort();
        let mut out = Vec::new();
        for (_, _, _, k) in order {
            let Some(e) = self.entries.get_mut(&k) else {
                continue;
            };
            let len = e.update.encoded_len();
            if len > budget {
                continue;
            }
            budget -= len;
            e.transmits += 1;
            out.push(e.update.clone());
            if e.transmits >= limit {
                self.entries.remove(&k);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(name: &str, inc: u32) -> Update {
        Update::Alive {
            name: name.into(),
            incarnation: inc,
            addr: "192.0.2.1:7946".parse().unwrap(),
            meta: Vec::new(),
        }
    }
    fn suspect(name: &str, inc: u32, from: &str) -> Update {
        Update::Suspect {
            name: name.into(),
            incarnation: inc,
            from: from.into(),
        }
    }

    #[test]
    fn updates_retire_after_the_limit() {
        let mut q = Queue::default();
        q.push(alive("a", 1));
        for _ in 0..3 {
            assert_eq!(q.take(1000, None, 3), vec![alive("a", 1)]);
        }
        assert!(q.is_empty());
        assert!(q.take(1000, None, 3).is_empty());
    }

    #[test]
    fn newer_news_replaces_older_but_accusers_accumulate() {
        let mut q = Queue::default();
        q.push(alive("a", 1));
        q.push(suspect("a", 1, "b"));
        q.push(suspect("a", 1, "c"));
        assert_eq!(q.len(), 2, "alive replaced; two accusers kept");
        q.push(alive("a", 2));
        assert_eq!(q.len(), 1, "a refutation replaces every suspect report");
        q.push(suspect("a", 2, "b"));
        q.push(suspect("a", 3, "c"));
        assert_eq!(
            q.take(1000, None, 9),
            vec![suspect("a", 3, "c")],
            "older incarnation dropped"
        );
        q.forget("a");
        assert!(q.is_empty());
    }

    #[test]
    fn recipient_first_then_least_sent_and_budget_respected() {
        let mut q = Queue::default();
        q.push(alive("a", 1));
        q.push(alive("b", 1));
        q.push(alive("c", 1));
        // b is about the recipient, so it goes first although it is not the newest.
        let one = alive("a", 1).encoded_len();
        assert_eq!(q.take(one, Some("b"), 9), vec![alive("b", 1)]);
        // Then the unsent ones, newest first.
        assert_eq!(q.take(2 * one, None, 9), vec![alive("c", 1), alive("a", 1)]);
        assert!(q.take(one - 1, None, 9).is_empty(), "nothing fits");
    }
}
