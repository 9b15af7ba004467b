//! Messages for the user: errors stay until dismissed, notes fade. The same message again does
//! not stack a second line; it counts ("x3") and moves to the front.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
    /// How many times it was said.
    pub count: usize,
    pub at: Instant,
}

/// How long a note (not an error) stays.
const INFO_FOR: Duration = Duration::from_secs(8);
/// The most messages kept; older ones are dropped.
const MOST: usize = 20;

#[derive(Default)]
pub struct Notices {
    list: Vec<Notice>,
}

impl Notices {
    pub fn push(&mut self, kind: NoticeKind, text: impl Into<String>) {
        let text = text.into();
        let count = match self
            .list
            .iter()
            .position(|n| n.kind == kind && n.text == text)
        {
            Some(k) => self.list.remove(k).count + 1,
            None => 1,
        };
        self.list.push(Notice {
            kind,
            text,
            count,
            at: Instant::now(),
        });
        if self.list.len() > MOST {
            self.list.remove(0);
        }
    }

    /// Drops notes that have been shown long enough.
    pub fn expire(&mut self) {
        self.list
            .retain(|n| n.kind == NoticeKind::Error || n.at.elapsed() < INFO_FOR);
    }

    /// Takes back every message whose text starts with `prefix`: a refusal that no longer holds
    /// (a "stop training before ..." once training has ended) would otherwise read as if the
    /// next attempt, which succeeds, had failed.
    pub fn withdraw_starting_with(&mut self, prefix: &str) {
        self.list.retain(|n| !n.text.starts_with(prefix));
    }

    pub fn dismiss(&mut self, k: usize) {
        if k < self.list.len() {
            self.list.remove(k);
        }
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Notice> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Notice> {
        self.list.iter().filter(|n| n.kind == NoticeKind::Error)
    }

    /// The newest message, shown in the status strip.
    pub fn latest(&self) -> Option<(usize, &Notice)> {
        self.list.iter().enumerate().next_back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_collapse_into_one_line_with_a_count() {
        let mut n = Notices::default();
        for _ in 0..5 {
            n.push(NoticeKind::Error, "could not open x");
        }
        n.push(NoticeKind::Info, "saved");
        assert_eq!(n.len(), 2);
        assert_eq!(n.errors().next().unwrap().count, 5);
        n.push(NoticeKind::Error, "could not open x");
        assert_eq!(n.latest().unwrap().1.count, 6);
        for k in 0..50 {
            n.push(NoticeKind::Error, format!("e{k}"));
        }
        assert_eq!(n.len(), MOST);
    }

    #[test]
    fn withdrawn_refusals_leave_the_other_messages() {
        let mut n = Notices::default();
        n.push(NoticeKind::Error, "stop training before opening a dataset");
        n.push(NoticeKind::Error, "could not open x");
        n.push(NoticeKind::Error, "stop training before loading a model");
        n.push(NoticeKind::Info, "saved");
        n.withdraw_starting_with("stop training before");
        let left: Vec<&str> = n.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(left, ["could not open x", "saved"]);
    }
}
