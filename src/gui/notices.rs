//! Messages for the user: errors stay until dismissed, notes fade. The same message again does
//! not stack a second line; it counts ("x3") and moves to the front. An error about a state of
//! things that can end (training that refuses a change, a model that does not fit the data)
//! carries a [`Topic`], and is taken back when that state ends: left on screen, it would read
//! as if the next attempt, which succeeds, had failed.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

/// What an error is about, for errors that stop holding when something else changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// A change refused because a run is training.
    WhileTraining,
    /// The open model does not fit the open dataset.
    PairMisfit,
}

#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
    /// Set for messages taken back by [`Notices::withdraw`].
    pub topic: Option<Topic>,
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
        self.push_about(kind, None, text);
    }

    /// A message that [`Notices::withdraw`] takes back when `topic` no longer holds.
    pub fn push_about(&mut self, kind: NoticeKind, topic: Option<Topic>, text: impl Into<String>) {
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
            topic,
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

    /// Takes back every message about `topic`: it no longer holds.
    pub fn withdraw(&mut self, topic: Topic) {
        self.list.retain(|n| n.topic != Some(topic));
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
    fn withdrawing_a_topic_leaves_the_other_messages() {
        let mut n = Notices::default();
        let training = Some(Topic::WhileTraining);
        n.push_about(
            NoticeKind::Error,
            training,
            "stop training before opening a dataset",
        );
        n.push(NoticeKind::Error, "could not open x");
        n.push_about(
            NoticeKind::Error,
            Some(Topic::PairMisfit),
            "x does not fit y",
        );
        n.push_about(
            NoticeKind::Error,
            training,
            "stop training before opening a model",
        );
        n.push(NoticeKind::Info, "saved");
        n.withdraw(Topic::WhileTraining);
        let left: Vec<&str> = n.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(left, ["could not open x", "x does not fit y", "saved"]);
        n.withdraw(Topic::PairMisfit);
        assert_eq!(n.len(), 2);
    }
}
