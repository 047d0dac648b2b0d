//! The chooser every strategy runs through: it applies the bounds, asks the strategy at each
//! decision, and records what was taken (the choice list of the run).

use super::Bounds;
use labrpc::sim::search::{ChoicePoint, Chooser, Step};
use labrpc::sim::{DetRng, Instant};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// An option as the strategies keep it across runs (the runtime's [`labrpc::sim::search::Choice`]
/// lives on the simulation's thread).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Opt {
    pub(crate) label: Arc<str>,
    pub(crate) step: Step,
    /// The node index the step touches; `None` for any.
    pub(crate) touches: Option<u32>,
}

impl Opt {
    fn independent_of(&self, other: &Opt) -> bool {
        matches!((self.touches, other.touches), (Some(a), Some(b)) if a != b)
    }
}

/// One choice point of a run, as recorded.
#[derive(Clone, Debug)]
pub(crate) struct Taken {
    /// The option's label.
    pub(crate) label: String,
    /// True if it was the point's default (what a run does when nobody chooses).
    pub(crate) default: bool,
    /// What firing did (for a story).
    pub(crate) detail: String,
    /// Virtual time of the choice.
    pub(crate) at: Instant,
    /// Messages pending at the choice.
    pub(crate) pending: usize,
    /// Every node's state before the choice (for a story), when asked for.
    pub(crate) states: Vec<String>,
}

/// One decision of the depth-first search: the options it had, which it tried, and the
/// sleep set it started with.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    options: Vec<Opt>,
    /// Options already explored from here (their subtrees are done).
    done: Vec<usize>,
    /// The option being explored now.
    current: usize,
    /// Options whose exploration from here is covered elsewhere (partial-order reduction).
    sleep: Vec<Opt>,
}

/// The depth-first search's state across runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dfs {
    stack: Vec<Frame>,
}

impl Dfs {
    /// Moves to the next unexplored branch; false when the bounded space is exhausted.
    pub(crate) fn backtrack(&mut self) -> bool {
        while let Some(frame) = self.stack.last_mut() {
            frame.done.push(frame.current);
            let next = (0..frame.options.len())
                .find(|i| !frame.done.contains(i) && !frame.sleep.contains(&frame.options[*i]));
            if let Some(next) = next {
                frame.current = next;
                return true;
            }
            self.stack.pop();
        }
        false
    }
}

/// PCT (probabilistic concurrency testing, Burckhardt et al. 2010) adapted to messages:
/// every option gets a random priority when first offered, the highest-priority allowed
/// option is taken, and at `changes` random decisions the option taken drops below all others.
#[derive(Clone, Debug)]
pub(crate) struct Pct {
    rng: DetRng,
    priorities: BTreeMap<Arc<str>, u64>,
    change_points: BTreeSet<usize>,
    lowered: u64,
}

impl Pct {
    /// A PCT schedule for bugs of depth `bug_depth + 1` among `decisions` decisions.
    pub(crate) fn new(seed: u64, walk: u64, bug_depth: usize, decisions: usize) -> Pct {
        let mut rng = DetRng::derive(seed, &[0x9c7, walk]);
        let change_points = (0..bug_depth)
            .map(|_| rng.below(decisions.max(1) as u64) as usize)
            .collect();
        Pct {
            rng,
            priorities: BTreeMap::new(),
            change_points,
            lowered: 0,
        }
    }
}

/// How a run picks at its decisions.
pub(crate) enum Mode {
    /// Depth-first: follow the stack, then extend it.
    Dfs(Dfs),
    /// A seeded random walk.
    Random(DetRng),
    /// PCT.
    Pct(Pct),
    /// A replayed choice file: every label must be offered in its turn (a mismatch is
    /// recorded); past the list, defaults.
    Script { labels: VecDeque<String> },
    /// The minimiser's candidates: at the choice points listed (by number), the label given
    /// if it is offered there; everywhere else, the default.
    Deviations { at: BTreeMap<usize, String> },
}

/// The chooser of one run.
pub(crate) struct Driver {
    bounds: Bounds,
    pub(crate) mode: Mode,
    /// What the run took, at every choice point.
    pub(crate) taken: Vec<Taken>,
    /// Decisions made (choice points with more than one allowed option, within the depth).
    pub(crate) decisions: usize,
    drops: u32,
    holds: u32,
    actions: u32,
    deviations: u32,
    /// Depth-first only: the sleep set carried to the next decision.
    sleep: Vec<Opt>,
    /// Depth-first only: a decision found every allowed option asleep, so this run repeats
    /// schedules covered elsewhere.
    pub(crate) redundant: bool,
    /// The scenario's prune that cut this run short, if one did.
    pub(crate) pruned: Option<String>,
    /// False to explore without partial-order reduction (to measure what it saves).
    pub(crate) por: bool,
    /// A script's first label that was not offered: the run does not match the file.
    pub(crate) mismatch: Option<String>,
    wants_states: bool,
    states: Vec<String>,
}

impl Driver {
    pub(crate) fn new(bounds: Bounds, mode: Mode, wants_states: bool) -> Driver {
        Driver {
            bounds,
            mode,
            taken: Vec::new(),
            decisions: 0,
            drops: 0,
            holds: 0,
            actions: 0,
            deviations: 0,
            sleep: Vec::new(),
            redundant: false,
            pruned: None,
            por: true,
            mismatch: None,
            wants_states,
            states: Vec::new(),
        }
    }

    /// Whether the bounds allow an option now (the default always is).
    fn allowed(&self, choice: &Opt, default: bool) -> bool {
        if default {
            return true;
        }
        self.deviations < self.bounds.deviations
            && match choice.step {
                Step::Deliver => true,
                Step::Drop => self.drops < self.bounds.drops,
                Step::Fire => self.holds < self.bounds.holds,
                Step::Act => self.actions < self.bounds.actions,
            }
    }

    fn pick(&mut self, options: &[Opt], allowed: &[usize], default: usize, decide: bool) -> usize {
        match &mut self.mode {
            Mode::Script { labels } => {
                let Some(label) = labels.pop_front() else {
                    return default;
                };
                match options.iter().position(|o| *o.label == *label) {
                    Some(i) => i,
                    None => {
                        self.mismatch.get_or_insert(label);
                        default
                    }
                }
            }
            Mode::Deviations { at } => at
                .get(&self.taken.len())
                .and_then(|label| options.iter().position(|o| *o.label == **label))
                .unwrap_or(default),
            _ if !decide => default,
            Mode::Random(rng) => allowed[rng.below(allowed.len() as u64) as usize],
            Mode::Pct(pct) => {
                for &i in allowed {
                    if !pct.priorities.contains_key(&options[i].label) {
                        let priority = (1 << 32) + pct.rng.below(1 << 40);
                        pct.priorities.insert(options[i].label.clone(), priority);
                    }
                }
                let best = *allowed
                    .iter()
                    .max_by_key(|&&i| pct.priorities[&options[i].label])
                    .expect("allowed is not empty");
                if pct.change_points.contains(&self.decisions) {
                    pct.lowered += 1;
                    let lowered = pct.lowered;
                    pct.priorities.insert(options[best].label.clone(), lowered);
                }
                best
            }
            Mode::Dfs(dfs) => {
                let depth = self.decisions;
                if depth < dfs.stack.len() {
                    let frame = &dfs.stack[depth];
                    let label = &frame.options[frame.current].label;
                    return options
                        .iter()
                        .position(|o| o.label == *label)
                        .unwrap_or_else(|| {
                            panic!(
                                "search: the run differs from an earlier run with the same \
                                 choices (\"{label}\" is not offered at decision {depth}): the \
                                 scenario or the code under test is not deterministic"
                            )
                        });
                }
                let frame_options: Vec<Opt> = allowed.iter().map(|&i| options[i].clone()).collect();
                let sleep = std::mem::take(&mut self.sleep);
                let Some(first) =
                    (0..frame_options.len()).find(|&i| !sleep.contains(&frame_options[i]))
                else {
                    self.redundant = true;
                    return default;
                };
                let chosen = frame_options[first].label.clone();
                dfs.stack.push(Frame {
                    options: frame_options,
                    done: Vec::new(),
                    current: first,
                    sleep,
                });
                options
                    .iter()
                    .position(|o| o.label == chosen)
                    .expect("chosen among the options")
            }
        }
    }

    /// Depth-first: the sleep set after taking `taken` at a decision of the stack.
    fn carry_sleep(&mut self, taken: &Opt, decided: bool) {
        let Mode::Dfs(dfs) = &self.mode else {
            return;
        };
        if self.redundant || !self.por {
            return;
        }
        let mut sleep = if decided {
            let frame = &dfs.stack[self.decisions];
            let mut sleep = frame.sleep.clone();
            sleep.extend(frame.done.iter().map(|&i| frame.options[i].clone()));
            sleep
        } else {
            std::mem::take(&mut self.sleep)
        };
        sleep.retain(|o| o.independent_of(taken));
        self.sleep = sleep;
    }
}

impl Chooser for Driver {
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let options: Vec<Opt> = point
            .options
            .iter()
            .map(|c| Opt {
                label: c.label.clone(),
                step: c.step,
                touches: c.touches.map(|n| n.index()),
            })
            .collect();
        let allowed: Vec<usize> = (0..options.len())
            .filter(|&i| self.allowed(&options[i], i == point.default))
            .collect();
        let decided = allowed.len() > 1
            && self.decisions < self.bounds.depth
            && !self.redundant
            && !matches!(self.mode, Mode::Script { .. } | Mode::Deviations { .. });
        let pick = self.pick(&options, &allowed, point.default, decided);
        let taken = &options[pick];
        // A decision that found everything asleep pushed no frame.
        let decided = decided && !self.redundant;
        self.carry_sleep(&taken.clone(), decided);
        if decided {
            self.decisions += 1;
        }
        if pick != point.default {
            self.deviations += 1;
            match taken.step {
                Step::Drop => self.drops += 1,
                Step::Fire => self.holds += 1,
                Step::Act => self.actions += 1,
                Step::Deliver => {}
            }
        }
        self.taken.push(Taken {
            label: taken.label.to_string(),
            default: pick == point.default,
            detail: point.options[pick].detail.clone(),
            at: point.at,
            pending: point.pending,
            states: std::mem::take(&mut self.states),
        });
        pick
    }

    fn wants_states(&self) -> bool {
        self.wants_states
    }

    fn wants_choices(&self) -> bool {
        match &self.mode {
            // A replay records every choice point to the end, so that lengths compare.
            Mode::Script { .. } | Mode::Deviations { .. } => true,
            _ => {
                self.decisions < self.bounds.depth
                    && self.deviations < self.bounds.deviations
                    && !self.redundant
            }
        }
    }

    fn states(&mut self, _at: Instant, states: Vec<String>) {
        self.states = states;
    }

    fn pruned(&mut self, name: &str) {
        self.pruned = Some(name.to_string());
    }
}
