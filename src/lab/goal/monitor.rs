//! The [`Monitor`]: samples a level's predicates while a run plays (at the check time,
//! at each moment a goal names, every [`SAMPLE_MS`] of a window) and checks them.

use super::*;

/// Which side of a predicate a sample is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// The measure.
    Left,
    /// The same measure at the value's moment.
    Right,
}

/// Samples a level's predicates as a run plays: at the check time, at each `at_ms`, and
/// every [`SAMPLE_MS`] of each window. The lab calls [`Monitor::sample`] once a moment is
/// complete (every item and command at it has run), so a sample is the state a replay
/// gives at that moment, whatever speed or steps the page used to get there.
#[derive(Clone, Debug)]
pub struct Monitor {
    predicates: Arc<Vec<Predicate>>,
    check_at_ms: u64,
    /// Moment → the probes sampled then.
    schedule: BTreeMap<u64, Vec<(usize, Side)>>,
    /// Moment → the values taken, in the order of its probes.
    taken: BTreeMap<u64, Vec<u64>>,
    tracker: Tracker,
}

impl Monitor {
    /// A monitor for these predicates, checked at `check_at_ms`.
    pub fn new(predicates: Arc<Vec<Predicate>>, check_at_ms: u64) -> Self {
        let mut schedule: BTreeMap<u64, Vec<(usize, Side)>> = BTreeMap::new();
        for (i, p) in predicates.iter().enumerate() {
            if matches!(p.measure, Measure::Setting(_)) {
                continue;
            }
            let mut at = |t: u64, side: Side| schedule.entry(t).or_default().push((i, side));
            match p.when {
                When::Check => at(check_at_ms, Side::Left),
                When::At(t) => at(t, Side::Left),
                When::Over { from_ms, to_ms, .. } => {
                    let mut t = from_ms;
                    while t < to_ms {
                        at(t, Side::Left);
                        t = (t / SAMPLE_MS + 1) * SAMPLE_MS;
                    }
                    at(to_ms, Side::Left);
                }
            }
            if let Rhs::SameAt(t, _) = p.rhs {
                at(t, Side::Right);
            }
        }
        Monitor {
            predicates,
            check_at_ms,
            schedule,
            taken: BTreeMap::new(),
            tracker: Tracker::default(),
        }
    }

    /// The event counts so far (narration reads them too).
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Reads the events the simulation emitted since the last call.
    pub fn update(&mut self, sim: &Sim) {
        self.tracker.update(sim);
    }

    /// The first moment at or after `t_ms` still to be sampled.
    pub fn next_untaken(&self, t_ms: u64) -> Option<u64> {
        self.schedule
            .range(t_ms..)
            .map(|(t, _)| *t)
            .find(|t| !self.taken.contains_key(t))
    }

    /// Samples now, if now is a scheduled moment not sampled yet. The caller makes sure
    /// the moment is complete.
    pub fn sample(&mut self, sim: &Sim) {
        let now = sim.now_ms();
        let Some(probes) = self.schedule.get(&now) else {
            return;
        };
        if self.taken.contains_key(&now) {
            return;
        }
        self.tracker.update(sim);
        let values = probes
            .iter()
            .map(|(i, _)| measure_now(sim, &self.predicates[*i], &self.tracker))
            .collect();
        self.taken.insert(now, values);
    }

    /// The samples taken: moment → values, one per probe scheduled then (to compare two
    /// ways of playing a run).
    pub fn samples(&self) -> &BTreeMap<u64, Vec<u64>> {
        &self.taken
    }

    /// A run forked at `t_ms` (a command given then): samples from then on no longer hold.
    pub fn fork(&mut self, t_ms: u64) {
        self.taken.split_off(&t_ms);
    }

    fn value(&self, t: u64, i: usize, side: Side) -> Option<u64> {
        let probes = self.schedule.get(&t)?;
        let k = probes.iter().position(|&(j, s)| j == i && s == side)?;
        self.taken.get(&t).map(|v| v[k])
    }

    /// Every predicate's result as of now: a sample where its moment has been sampled,
    /// else the value now (a window: its samples so far). `sim` is the run now.
    pub fn checks(&self, sim: &Sim, scenario: &Scenario) -> Vec<Check> {
        self.predicates
            .iter()
            .enumerate()
            .map(|(i, p)| self.check(i, p, sim, scenario))
            .collect()
    }

    fn check(&self, i: usize, p: &Predicate, sim: &Sim, scenario: &Scenario) -> Check {
        let now = sim.now_ms();
        if let Measure::Setting(name) = &p.measure {
            let actual = scenario.get(name);
            let holds = match &p.rhs {
                Rhs::Text(want) => (actual == *want) == (p.op == Op::Eq),
                Rhs::Number(n) => actual.parse::<u64>().is_ok_and(|a| p.op.holds(a, *n)),
                Rhs::SameAt(..) => false,
            };
            return Check {
                label: p.label.clone(),
                holds,
                actual: format!("{name} = {actual}"),
                settled: true,
            };
        }
        let what = match &p.measure {
            Measure::Events(kind) => format!("event:{kind}"),
            _ => p.name_of_measure(),
        };
        let at = |t: u64| -> (Option<u64>, bool) {
            match self.value(t, i, Side::Left) {
                Some(v) => (Some(v), true),
                None if now <= t => (Some(measure_now(sim, p, &self.tracker)), false),
                None => (None, true),
            }
        };
        let (left, settled_left, left_text) = match p.when {
            When::Check => {
                let (v, s) = at(self.check_at_ms);
                (v, s, format!("{what} = {}", show(v)))
            }
            When::At(t) => {
                let (v, s) = at(t);
                (v, s, format!("{what} at {} = {}", seconds(t), show(v)))
            }
            When::Over {
                from_ms,
                to_ms,
                take,
            } => {
                let samples = self
                    .schedule
                    .range(from_ms..=to_ms)
                    .filter_map(|(t, _)| self.value(*t, i, Side::Left));
                let v = match take {
                    Take::Max => samples.max(),
                    Take::Min => samples.min(),
                };
                let settled = now >= to_ms;
                let word = match take {
                    Take::Max => "max",
                    Take::Min => "min",
                };
                let so_far = if settled || v.is_none() {
                    ""
                } else {
                    " so far"
                };
                (
                    v,
                    settled,
                    format!(
                        "{word} {what} over {}–{} = {}{so_far}",
                        seconds(from_ms),
                        seconds(to_ms),
                        show(v)
                    ),
                )
            }
        };
        let (right, settled_right, right_text) = match &p.rhs {
            Rhs::Number(n) => (Some(*n), true, String::new()),
            Rhs::Text(_) => (None, true, String::new()),
            Rhs::SameAt(t, plus) => {
                let v = self.value(*t, i, Side::Right);
                (
                    v.map(|v| v + plus),
                    v.is_some() || now > *t,
                    format!(", at {} = {}", seconds(*t), show(v)),
                )
            }
        };
        let holds = match (left, right) {
            (Some(a), Some(b)) => p.op.holds(a, b),
            _ => false,
        };
        Check {
            label: p.label.clone(),
            holds,
            actual: format!("{left_text}{right_text}"),
            settled: settled_left && settled_right,
        }
    }
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "not yet".to_owned(), |v| v.to_string())
}

impl Predicate {
    fn name_of_measure(&self) -> String {
        let name = METRIC_TABLE
            .iter()
            .find(|(_, m, ..)| Measure::Metric(*m) == self.measure)
            .map_or("", |m| m.0);
        match self.partition {
            Some(p) => format!("{name}(p{p})"),
            None => name.to_owned(),
        }
    }
}

/// One predicate's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The checklist's words.
    pub label: String,
    /// It holds.
    pub holds: bool,
    /// The measured value, in words (`duplicate = 3`).
    pub actual: String,
    /// Its moments have all passed: it will not change any more.
    pub settled: bool,
}
