//! `labs handout LAB [--edition YEAR] [--html OUT]`: a lab's handout (`docs/<lab>.md`) as one
//! self-contained HTML page for a course website: the Markdown rendered with pulldown-cmark
//! (tables, footnotes, task lists), a small stylesheet inline, no external resources. With
//! `--edition`, a lab that comes in several editions (kvsrv) shows only that edition's
//! sections (the `<!-- BEGIN EDITION 2025 -->` regions, as `labs skeleton --edition` ships).
//! Notes for the course staff (`<!-- BEGIN STAFF -->` regions) are left out, as in the
//! skeleton.

use lincheck::html::escape;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `labs handout`.
#[derive(clap::Args)]
pub struct Args {
    /// The lab (`raft`): renders docs/<lab>.md.
    lab: String,
    /// Show only this edition's sections (default: every edition's).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::manifest::EDITIONS))]
    edition: Option<String>,
    /// Where to write the page (default: standard output).
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
}

/// Runs `labs handout`.
pub fn run(args: &Args) -> ExitCode {
    let root = crate::workspace_root();
    let docs = root.join("docs");
    let path = docs.join(format!("{}.md", args.lab));
    let Ok(markdown) = std::fs::read_to_string(&path) else {
        let mut known: Vec<String> = std::fs::read_dir(&docs)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .and_then(|n| n.strip_suffix(".md"))
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        known.sort();
        eprintln!(
            "labs handout: no handout {} (the handouts: {})",
            path.display(),
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let markdown = match crate::skeleton::student_markdown(&markdown, args.edition.as_deref()) {
        Ok(markdown) => markdown,
        Err(e) => {
            eprintln!("labs handout: {}:{e}", path.display());
            return ExitCode::from(2);
        }
    };
    let page = render(&markdown, &args.lab);
    match &args.html {
        None => print!("{page}"),
        Some(out) => {
            if let Err(e) = std::fs::write(out, page) {
                eprintln!("labs handout: {}: {e}", out.display());
                return ExitCode::from(3);
            }
            eprintln!("wrote {}", out.display());
        }
    }
    ExitCode::SUCCESS
}

/// The handout page for `markdown`; its title is the first heading (or `lab`).
pub fn render(markdown: &str, lab: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut body = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut body, Parser::new_ext(markdown, options));
    let title = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or(lab)
        .trim();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         </body>\n</html>\n",
        escape(title)
    )
}

const STYLE: &str = "
body { margin: 0; font: 16px/1.55 system-ui, sans-serif; color: #1d1d1f; background: #fff; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
h1, h2, h3 { line-height: 1.25; margin-top: 2rem; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
code { font: .9em ui-monospace, monospace; background: #f3f3f5; padding: .1em .3em; border-radius: 3px; }
pre { background: #f3f3f5; padding: .8rem 1rem; overflow-x: auto; border-radius: 5px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 1rem 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f5; }
blockquote { margin: 1rem 0; padding: 0 1rem; border-left: 4px solid #ccc; color: #555; }
a { color: #0b57d0; }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handout_renders_self_contained() {
        let docs = crate::workspace_root().join("docs");
        let labs = crate::manifest::manifest().labs.iter().filter(|l| l.graded);
        for lab in labs.map(|l| l.name.as_str()) {
            let markdown = std::fs::read_to_string(docs.join(format!("{lab}.md"))).unwrap();
            let page = render(&markdown, lab);
            assert!(page.starts_with("<!DOCTYPE html>"), "{lab}");
            assert!(page.contains("<h2"), "{lab}: no sections");
            assert!(page.contains("<pre><code"), "{lab}: no code blocks");
            for external in ["<script", "<link", "src=\"http", "@import"] {
                assert!(!page.contains(external), "{lab}: {external}");
            }
        }
        let kvsrv = std::fs::read_to_string(docs.join("kvsrv.md")).unwrap();
        let both = crate::skeleton::student_markdown(&kvsrv, None).unwrap();
        let only_2025 = crate::skeleton::student_markdown(&kvsrv, Some("2025")).unwrap();
        for page in [&both, &only_2025] {
            assert!(page.contains("## Edition 2025") && page.contains("make kvsrv-2025"));
            // (`<!-- output of: ... -->` stays: an invisible note that check-copy reads.)
            assert!(
                !page
                    .lines()
                    .any(|line| line.starts_with("<!-- BEGIN") || line.starts_with("<!-- END")),
                "region marker lines are never shown"
            );
        }
        assert!(both.contains("## Edition 2024") && both.contains("`mem_get_2`"));
        for other in [
            "Edition 2024",
            "kvsrv-2024",
            "mem_get_2",
            "- 2024:",
            "test kvsrv_2024 --",
        ] {
            assert!(
                !only_2025.contains(other),
                "the 2025 handout shows {other:?}"
            );
        }
        let page = render("# A <b>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "x");
        assert!(page.contains("<title>A &lt;b&gt;</title>"));
        assert!(page.contains("<table>"));
    }
}
