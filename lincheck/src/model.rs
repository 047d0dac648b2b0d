//! The sequential specification a history is checked against.

use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash, Hasher};

use rustc_hash::FxBuildHasher;

use super::history::Operation;

/// A sequential specification: an initial state and a step function.
///
/// `step` returns the state after applying `input` in `state` when the operation may
/// return `output` there, or `None` when that output is impossible in `state`. An `output` of
/// `None` means the result is unknown: the step must then accept any result.
///
/// Models with several possible successor states implement [`NondeterministicModel`] and are
/// checked through [`PowerSet`].
pub trait Model: Sync {
    /// A state of the specification. Equality and hashing decide which search states the
    /// checker's cache treats as the same; keep hashing cheap (cache a hash in big states).
    type State: Clone + Eq + Hash + Send + Sync + Debug;
    /// An operation's input.
    type Input: Sync + Debug;
    /// An operation's output.
    type Output: Sync + Debug;

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Applies one operation; `None` when `output` is not a legal result in `state`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Splits a history into independent parts (P-compositionality: e.g. one per key of a
    /// key/value store), as lists of operation indices; every index must appear in exactly
    /// one part ([`check`](super::check) panics otherwise). The default keeps one part.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// Whether the operation, with this output, leaves unchanged every state in which it is
    /// legal (a read, a compare-and-set that failed). The checker then linearizes it as soon
    /// as it is legal without exploring alternatives, which is sound only if this is true:
    /// when unsure, return `false` (the default).
    fn is_read_only(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// A short human-readable description of an operation, for reports.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        describe_io(input, output)
    }

    /// A short human-readable description of a state, for reports.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// Approximate heap bytes owned by a state (beyond `size_of::<State>()`), used to
    /// account the checker's cache against a memory budget. The default is 0.
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }

    /// What the operation does when the model is a *log* (see [`LogAccess`]): an object whose
    /// value is a byte string that a put replaces, an append extends and a read returns
    /// whole, like one key of the 6.824 key/value store or a register. `None` (the default)
    /// when the operation is not one of these; then the checker decides its partition with the
    /// general search only.
    ///
    /// Implement it only if [`step`](Model::step) behaves exactly as described for every
    /// operation it describes: the checker's log analysis relies on it (and double-checks
    /// every linearization it finds with `step`).
    fn log_access<'a>(
        &self,
        _input: &'a Self::Input,
        _output: Option<&'a Self::Output>,
    ) -> Option<LogAccess<'a>> {
        None
    }
}

/// An operation of a log-like model ([`Model::log_access`]): the object's value is a byte
/// string, initially empty.
///
/// When every written value of a partition is non-empty and unique, and no value is a prefix
/// of another, a read's value names exactly which writes precede it and in which order, and
/// the checker decides the partition with a near-linear analysis instead of the exponential
/// search (see `docs/linearizability.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogAccess<'a> {
    /// Replaces the value of `object` by `value`.
    Put {
        /// The object (e.g. the key) the operation is about.
        object: Cow<'a, [u8]>,
        /// The new value.
        value: Cow<'a, [u8]>,
    },
    /// Appends `value` to the value of `object`.
    Append {
        /// The object.
        object: Cow<'a, [u8]>,
        /// The suffix.
        value: Cow<'a, [u8]>,
    },
    /// Returns the whole value of `object`; `value: None` when the result is unknown.
    Read {
        /// The object.
        object: Cow<'a, [u8]>,
        /// The value returned, if known.
        value: Option<Cow<'a, [u8]>>,
    },
}

impl LogAccess<'_> {
    /// The object the operation is about.
    pub fn object(&self) -> &[u8] {
        match self {
            LogAccess::Put { object, .. }
            | LogAccess::Append { object, .. }
            | LogAccess::Read { object, .. } => object,
        }
    }
}

/// The default description of an operation: `input -> output` (`?` when unknown).
fn describe_io(input: &impl Debug, output: Option<&impl Debug>) -> String {
    match output {
        Some(o) => format!("{input:?} -> {o:?}"),
        None => format!("{input:?} -> ?"),
    }
}

/// A specification where one operation may lead to several states.
///
/// Check it with [`PowerSet`], which tracks the set of states the object may be in.
pub trait NondeterministicModel: Sync {
    /// A state of the specification.
    type State: Clone + Eq + Hash + Send + Sync + Debug;
    /// An operation's input.
    type Input: Sync + Debug;
    /// An operation's output.
    type Output: Sync + Debug;

    /// The possible initial states (at least one).
    fn init(&self) -> Vec<Self::State>;

    /// Pushes onto `next` every state reachable from `state` by the operation when it returns
    /// `output` (`None`: unknown output). Pushes nothing when the output is impossible.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
        next: &mut Vec<Self::State>,
    );

    /// As [`Model::partition`].
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// As [`Model::is_read_only`]: the operation leaves each state in which it is legal
    /// unchanged. Default `false`.
    fn is_read_only(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// As [`Model::describe_operation`].
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        describe_io(input, output)
    }

    /// As [`Model::describe_state`].
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A set of states of a nondeterministic model (no duplicates, order-independent equality and
/// hash). A single state is stored without a separate allocation.
#[derive(Clone, Debug)]
pub struct StateSet<S> {
    repr: Repr<S>,
    hash: u64,
}

#[derive(Clone, Debug)]
enum Repr<S> {
    One(S),
    Many(Vec<S>),
}

impl<S: Eq + Hash> StateSet<S> {
    fn from_vec(mut v: Vec<S>) -> Self {
        if v.len() == 1 {
            let s = v.pop().expect("one state");
            let hash = FxBuildHasher.hash_one(&s);
            return StateSet {
                repr: Repr::One(s),
                hash,
            };
        }
        let mut k = 0;
        while k < v.len() {
            if v[..k].contains(&v[k]) {
                v.swap_remove(k);
            } else {
                k += 1;
            }
        }
        let hash = v
            .iter()
            .fold(0u64, |h, s| h.wrapping_add(FxBuildHasher.hash_one(s)));
        if v.len() == 1 {
            let s = v.pop().expect("one state");
            return StateSet {
                repr: Repr::One(s),
                hash,
            };
        }
        StateSet {
            repr: Repr::Many(v),
            hash,
        }
    }
}

impl<S> StateSet<S> {
    /// The states in the set.
    pub fn states(&self) -> &[S] {
        match &self.repr {
            Repr::One(s) => std::slice::from_ref(s),
            Repr::Many(v) => v,
        }
    }
}

impl<S: Eq> PartialEq for StateSet<S> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.states(), other.states());
        self.hash == other.hash && a.len() == b.len() && a.iter().all(|s| b.contains(s))
    }
}

impl<S: Eq> Eq for StateSet<S> {}

impl<S> Hash for StateSet<S> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

/// Turns a [`NondeterministicModel`] into a [`Model`] whose state is the set of states the
/// object may be in; an operation is legal when at least one of them allows it.
#[derive(Clone, Debug, Default)]
pub struct PowerSet<M>(pub M);

impl<M: NondeterministicModel> Model for PowerSet<M> {
    type State = StateSet<M::State>;
    type Input = M::Input;
    type Output = M::Output;

    fn init(&self) -> Self::State {
        StateSet::from_vec(self.0.init())
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State> {
        let mut next = Vec::new();
        for s in state.states() {
            self.0.step(s, input, output, &mut next);
        }
        if next.is_empty() {
            None
        } else {
            Some(StateSet::from_vec(next))
        }
    }

    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        self.0.partition(ops)
    }

    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        // A read-only operation can only shrink the set of possible states; the checker
        // treats it as read-only only when the set stays the same.
        self.0.is_read_only(input, output)
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        self.0.describe_operation(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        if state.states().len() == 1 {
            return self.0.describe_state(&state.states()[0]);
        }
        let parts: Vec<String> = state
            .states()
            .iter()
            .map(|s| self.0.describe_state(s))
            .collect();
        format!("one of {{{}}}", parts.join(" | "))
    }

    fn state_heap_bytes(&self, state: &Self::State) -> usize {
        match &state.repr {
            Repr::One(_) => 0,
            Repr::Many(v) => v.capacity() * std::mem::size_of::<M::State>(),
        }
    }
}
