//! Deterministically generated input texts, so that tests need no downloads and no files
//! outside the repository.
//!
//! The eight files carry the names of the original lab's books (`pg-being_ernest.txt`, ...,
//! which matter to the `early_exit` application), and contain English-like prose: sentences of
//! words drawn from a skewed distribution over a made-up vocabulary, with capitals,
//! punctuation, numbers, apostrophes, hyphens and a few non-ASCII letters. The benchmark uses
//! the real books when `../shared/data/gutenberg/` is present.

use labrpc::sim::DetRng;

/// The names of the original lab's eight input books.
pub const BOOK_NAMES: [&str; 8] = [
    "pg-being_ernest.txt",
    "pg-dorian_gray.txt",
    "pg-frankenstein.txt",
    "pg-grimm.txt",
    "pg-huckleberry_finn.txt",
    "pg-metamorphosis.txt",
    "pg-sherlock_holmes.txt",
    "pg-tom_sawyer.txt",
];

const SYLLABLES: [&str; 32] = [
    "a", "ber", "cal", "dor", "el", "fen", "gar", "hol", "in", "jo", "ka", "lor", "mi", "nev",
    "or", "pa", "qui", "ra", "sel", "tom", "ul", "ve", "wil", "xa", "yo", "zen", "the", "and", "é",
    "ß", "ck", "ough",
];

const PUNCTUATION: [&str; 6] = [".", ",", ";", "!", "?", " --"];

/// The vocabulary: `n` distinct made-up words of one to three syllables.
fn vocabulary(n: usize) -> Vec<String> {
    let mut rng = DetRng::new(0x6d61_7072);
    let mut words = std::collections::BTreeSet::new();
    while words.len() < n {
        let syllables = 1 + rng.below(3) as usize;
        let word: String = (0..syllables)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
            .collect();
        words.insert(word);
    }
    let mut words: Vec<String> = words.into_iter().collect();
    // Shuffle so that word frequency does not follow alphabetical order.
    for i in (1..words.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        words.swap(i, j);
    }
    words
}

/// One document of about `bytes` bytes, a function of `seed` only.
fn document(vocabulary: &[String], seed: u64, bytes: usize) -> String {
    let mut rng = DetRng::new(seed);
    let mut text = String::with_capacity(bytes + 100);
    let mut line_start = 0;
    let mut sentence_start = true;
    while text.len() < bytes {
        // Skewed towards the front of the vocabulary, like word frequencies in prose.
        let u = (rng.below(1 << 20) as f64) / f64::from(1 << 20);
        let index = ((u * u * u) * vocabulary.len() as f64) as usize;
        let mut word = vocabulary[index.min(vocabulary.len() - 1)].clone();
        match rng.below(40) {
            0 => word = (1000 + rng.below(1000)).to_string(),
            1 => word.push_str("'s"),
            2 => word = format!("{word}-{}", vocabulary[rng.below(50) as usize]),
            _ => {}
        }
        if sentence_start {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                word = first.to_uppercase().chain(chars).collect();
            }
            sentence_start = false;
        }
        if text.len() - line_start > 68 {
            text.push('\n');
            line_start = text.len();
            if rng.below(8) == 0 {
                text.push('\n');
                line_start = text.len();
            }
        } else if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&word);
        if rng.below(9) == 0 {
            let mark = PUNCTUATION[rng.below(PUNCTUATION.len() as u64) as usize];
            text.push_str(mark);
            sentence_start = matches!(mark, "." | "!" | "?");
        }
    }
    text.push('\n');
    text
}

/// Eight generated documents of about `bytes_per_file` bytes each, named like the original
/// lab's books. The same call always returns the same texts.
pub fn generated_books(bytes_per_file: usize) -> Vec<(String, String)> {
    let vocabulary = vocabulary(3000);
    BOOK_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let seed = 0x626f_6f6b_0000 + i as u64;
            (
                name.to_string(),
                document(&vocabulary, seed, bytes_per_file),
            )
        })
        .collect()
}

/// The inputs of the graded tests: [`generated_books`] of 16 KiB each.
pub fn test_inputs() -> Vec<(String, String)> {
    generated_books(16 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_books_are_deterministic_and_distinct() {
        let a = generated_books(4000);
        assert_eq!(a, generated_books(4000));
        assert_eq!(a.len(), 8);
        for (name, text) in &a {
            assert!(text.len() >= 4000 && text.len() < 4200, "{name}");
        }
        assert_ne!(a[0].1, a[1].1);
        assert!(a.iter().any(|(_, t)| t.contains('é')));
    }
}
