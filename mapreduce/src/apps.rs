//! MapReduce applications: the interface, the partitioning hash, and the built-in
//! applications of the original course, chosen by name.
//!
//! An application is a map function (file name and contents to key/value pairs) and a reduce
//! function (a key and all its values to one string). Both are async and get an [`Env`]:
//! most applications ignore it, but the test applications sleep, leave marker files and crash
//! through it, so that they behave the same in the simulation and as real processes.

use crate::env::{Env, LocalBoxFuture};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// One intermediate pair emitted by a map function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key: decides the reduce partition.
    pub key: String,
    /// The value.
    pub value: String,
}

impl KeyValue {
    /// A pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A MapReduce application.
pub trait App {
    /// Maps one input file to key/value pairs.
    fn map<'a>(
        &'a self,
        env: &'a dyn Env,
        filename: &'a str,
        contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>>;

    /// Reduces all the values of one key to the text that follows the key in the output.
    fn reduce<'a>(
        &'a self,
        env: &'a dyn Env,
        key: &'a str,
        values: &'a [String],
    ) -> LocalBoxFuture<'a, String>;
}

/// The hash that picks a key's reduce partition: `ihash(key) % n_reduce`.
///
/// 32-bit FNV-1a of the key's bytes, masked to 31 bits, like the original's.
///
/// ```
/// assert_eq!(mapreduce::ihash(""), 0x811c9dc5 & 0x7fff_ffff);
/// assert_eq!(mapreduce::ihash("a"), 0xe40c292c & 0x7fff_ffff);
/// ```
pub fn ihash(key: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in key.as_bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash & 0x7fff_ffff
}

/// Makes a fresh instance of an application (one per worker: some keep per-process state).
pub type AppFactory = fn() -> Box<dyn App>;

/// Applications by name. [`Registry::builtin`] has the original course's; a course can
/// [`register`](Registry::register) its own.
#[derive(Clone)]
pub struct Registry {
    apps: BTreeMap<String, AppFactory>,
}

/// No application has that name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownApp {
    /// The name asked for.
    pub name: String,
    /// The names the registry has.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown application {:?} (known applications: {})",
            self.name,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownApp {}

/// The names of the built-in applications.
pub const BUILTIN_APPS: &[&str] = &[
    "wc",
    "indexer",
    "mtiming",
    "rtiming",
    "jobcount",
    "early_exit",
    "crash",
    "nocrash",
];

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry {
            apps: BTreeMap::new(),
        }
    }

    /// The built-in applications ([`BUILTIN_APPS`]).
    pub fn builtin() -> Registry {
        let mut registry = Registry::new();
        registry.register("wc", || Box::new(WordCount));
        registry.register("indexer", || Box::new(Indexer));
        registry.register("mtiming", || Box::new(MapTiming));
        registry.register("rtiming", || Box::new(ReduceTiming));
        registry.register("jobcount", || Box::new(JobCount::default()));
        registry.register("early_exit", || Box::new(EarlyExit));
        registry.register("crash", || Box::new(Crash { crashes: true }));
        registry.register("nocrash", || Box::new(Crash { crashes: false }));
        registry
    }

    /// Adds (or replaces) an application.
    pub fn register(&mut self, name: impl Into<String>, factory: AppFactory) {
        self.apps.insert(name.into(), factory);
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.apps.keys().cloned().collect()
    }

    /// A fresh instance of the application called `name`.
    pub fn get(&self, name: &str) -> Result<Box<dyn App>, UnknownApp> {
        match self.apps.get(name) {
            Some(factory) => Ok(factory()),
            None => Err(UnknownApp {
                name: name.to_string(),
                known: self.names(),
            }),
        }
    }
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::builtin()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.apps.keys()).finish()
    }
}

/// The maximal runs of letters in `text` (the words of `wc` and `indexer`).
///
/// A letter is a `char` with the Unicode `Alphabetic` property (close to the original's
/// `unicode.IsLetter`; both modes and the sequential reference use the same definition).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty())
}

/// A sorted copy of `values`, joined by spaces.
fn sorted_joined(values: &[String]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.join(" ")
}

/// `wc`: word count. Map emits `(word, "1")` per word; reduce counts.
struct WordCount;

impl App for WordCount {
    fn map<'a>(
        &'a self,
        _env: &'a dyn Env,
        _filename: &'a str,
        contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move { words(contents).map(|w| KeyValue::new(w, "1")).collect() })
    }

    fn reduce<'a>(
        &'a self,
        _env: &'a dyn Env,
        _key: &'a str,
        values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move { values.len().to_string() })
    }
}

/// `indexer`: inverted index. Map emits `(word, file)` once per distinct word of a file;
/// reduce gives `"N file1,file2,..."` with the files sorted.
struct Indexer;

impl App for Indexer {
    fn map<'a>(
        &'a self,
        _env: &'a dyn Env,
        filename: &'a str,
        contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move {
            let distinct: BTreeSet<&str> = words(contents).collect();
            distinct
                .into_iter()
                .map(|w| KeyValue::new(w, filename))
                .collect()
        })
    }

    fn reduce<'a>(
        &'a self,
        _env: &'a dyn Env,
        _key: &'a str,
        values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move {
            let mut files = values.to_vec();
            files.sort();
            format!("{} {}", files.len(), files.join(","))
        })
    }
}

/// How many workers are in `phase` right now: leaves a marker file `mr-worker-<phase>-<id>`,
/// counts the markers of live workers, holds the marker for one second, removes it.
async fn parallel_workers(env: &dyn Env, phase: &str) -> usize {
    let prefix = format!("mr-worker-{phase}-");
    let mine = format!("{prefix}{}", env.worker_id());
    if let Err(e) = env.write_file(&mine, b"x") {
        panic!("cannot create marker file {mine}: {e}");
    }
    let names = env
        .list_files()
        .unwrap_or_else(|e| panic!("cannot list files: {e}"));
    let running = names
        .iter()
        .filter_map(|name| name.strip_prefix(&prefix)?.parse::<u64>().ok())
        .filter(|&worker| env.is_alive(worker))
        .count();
    env.sleep(Duration::from_secs(1)).await;
    if let Err(e) = env.remove_file(&mine) {
        panic!("cannot remove marker file {mine}: {e}");
    }
    running
}

/// `mtiming`: map parallelism. Each map emits `("times-<worker>", timestamp)` and
/// `("parallel-<worker>", number of map workers running at the same time)`.
struct MapTiming;

impl App for MapTiming {
    fn map<'a>(
        &'a self,
        env: &'a dyn Env,
        _filename: &'a str,
        _contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move {
            let me = env.worker_id();
            let started = env.timestamp().as_secs_f64();
            let running = parallel_workers(env, "map").await;
            vec![
                KeyValue::new(format!("times-{me}"), format!("{started:.1}")),
                KeyValue::new(format!("parallel-{me}"), running.to_string()),
            ]
        })
    }

    fn reduce<'a>(
        &'a self,
        _env: &'a dyn Env,
        _key: &'a str,
        values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move { sorted_joined(values) })
    }
}

/// `rtiming`: reduce parallelism. Map emits keys `a`..`j`; each reduce returns the number of
/// reduce workers running at the same time.
struct ReduceTiming;

impl App for ReduceTiming {
    fn map<'a>(
        &'a self,
        _env: &'a dyn Env,
        _filename: &'a str,
        _contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move {
            ('a'..='j')
                .map(|key| KeyValue::new(key.to_string(), "1"))
                .collect()
        })
    }

    fn reduce<'a>(
        &'a self,
        env: &'a dyn Env,
        _key: &'a str,
        _values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move { parallel_workers(env, "reduce").await.to_string() })
    }
}

/// `jobcount`: counts map executions. Each map leaves a file `mr-worker-jobcount-<worker>-<n>`,
/// takes 2–5 s and emits `("a", "x")`; reduce counts those files.
#[derive(Default)]
struct JobCount {
    maps_done: Cell<u64>,
}

impl App for JobCount {
    fn map<'a>(
        &'a self,
        env: &'a dyn Env,
        _filename: &'a str,
        _contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move {
            let n = self.maps_done.get();
            self.maps_done.set(n + 1);
            let name = format!("mr-worker-jobcount-{}-{n}", env.worker_id());
            if let Err(e) = env.write_file(&name, b"x") {
                panic!("cannot create {name}: {e}");
            }
            let pause = 2000 + env.random_below(3000);
            env.sleep(Duration::from_millis(pause)).await;
            vec![KeyValue::new("a", "x")]
        })
    }

    fn reduce<'a>(
        &'a self,
        env: &'a dyn Env,
        _key: &'a str,
        _values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move {
            let names = env
                .list_files()
                .unwrap_or_else(|e| panic!("cannot list files: {e}"));
            names
                .iter()
                .filter(|name| name.starts_with("mr-worker-jobcount"))
                .count()
                .to_string()
        })
    }
}

/// `early_exit`: map emits `(file, "1")`; reduce counts, taking 3 s for keys containing
/// `sherlock` or `tom`, so that some reduces finish late.
struct EarlyExit;

impl App for EarlyExit {
    fn map<'a>(
        &'a self,
        _env: &'a dyn Env,
        filename: &'a str,
        _contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move { vec![KeyValue::new(filename, "1")] })
    }

    fn reduce<'a>(
        &'a self,
        env: &'a dyn Env,
        key: &'a str,
        values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move {
            if key.contains("sherlock") || key.contains("tom") {
                env.sleep(Duration::from_secs(3)).await;
            }
            values.len().to_string()
        })
    }
}

/// `crash` and `nocrash`. In both map and reduce, `crash` crashes the worker with probability
/// 1/3 and sleeps 0–10 s with probability 1/3; `nocrash` never does. Map emits `a` = file
/// name, `b` = its length, `c` = the contents' length in bytes, `d` = `xyzzy`; reduce joins
/// the sorted values with spaces.
struct Crash {
    crashes: bool,
}

impl Crash {
    async fn maybe_crash(&self, env: &dyn Env) {
        if !self.crashes {
            return;
        }
        let roll = env.random_below(1000);
        if roll < 330 {
            env.crash().await;
        } else if roll < 660 {
            let pause = env.random_below(10_000);
            env.sleep(Duration::from_millis(pause)).await;
        }
    }
}

impl App for Crash {
    fn map<'a>(
        &'a self,
        env: &'a dyn Env,
        filename: &'a str,
        contents: &'a str,
    ) -> LocalBoxFuture<'a, Vec<KeyValue>> {
        Box::pin(async move {
            self.maybe_crash(env).await;
            vec![
                KeyValue::new("a", filename),
                KeyValue::new("b", filename.len().to_string()),
                KeyValue::new("c", contents.len().to_string()),
                KeyValue::new("d", "xyzzy"),
            ]
        })
    }

    fn reduce<'a>(
        &'a self,
        env: &'a dyn Env,
        _key: &'a str,
        values: &'a [String],
    ) -> LocalBoxFuture<'a, String> {
        Box::pin(async move {
            self.maybe_crash(env).await;
            sorted_joined(values)
        })
    }
}

/// Sorts `pairs` by key, calls `app.reduce` once per distinct key with all of its values, and
/// returns the output: one `key value` line per key, in key order (what a reduce task writes).
pub async fn reduce_sorted(env: &dyn Env, app: &dyn App, mut pairs: Vec<KeyValue>) -> String {
    pairs.sort_by(|a, b| a.key.cmp(&b.key));
    let mut text = String::new();
    for group in pairs.chunk_by(|a, b| a.key == b.key) {
        let values: Vec<String> = group.iter().map(|kv| kv.value.clone()).collect();
        let reduced = app.reduce(env, &group[0].key, &values).await;
        text.push_str(&group[0].key);
        text.push(' ');
        text.push_str(&reduced);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ihash_is_fnv1a_masked() {
        // FNV-1a 32 of "foobar" is 0xbf9cf968.
        assert_eq!(ihash("foobar"), 0xbf9c_f968 & 0x7fff_ffff);
        assert!(ihash("anything") <= 0x7fff_ffff);
    }

    #[test]
    fn words_are_runs_of_letters() {
        let w: Vec<&str> = words("It's a dog-eat-dog world, 42 times; café!").collect();
        assert_eq!(
            w,
            [
                "It", "s", "a", "dog", "eat", "dog", "world", "times", "café"
            ]
        );
    }

    #[test]
    fn unknown_app_names_the_known_ones() {
        let registry = Registry::builtin();
        let Err(err) = registry.get("nope") else {
            panic!("nope is not an app")
        };
        let text = err.to_string();
        assert!(text.contains("\"nope\""), "{text}");
        for name in BUILTIN_APPS {
            assert!(text.contains(name), "{text}");
            assert!(registry.get(name).is_ok());
        }
        assert_eq!(registry.names().len(), BUILTIN_APPS.len());
    }
}
