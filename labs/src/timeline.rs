//! The timeline page of `labs trace`: one run's trace (as `labtest` writes it for
//! `LABTEST_TRACE_FILE`) drawn as a self-contained HTML page.
//!
//! One lane per node; Raft's terms and roles as colored spans (from the harness's `raft`
//! annotations: a server's sampled term and leadership, and the term a candidate asks votes
//! for); RPCs as arrows from send to delivery and from handler to reply, dropped ones ending in
//! a cross; crashes, restarts, persists, applied entries, log lines, the harness's notes
//! (partitions, connections) and the point of failure. Zoom with the wheel or the buttons, pan
//! by dragging, filter by node and by kind of event. Only what is in view is drawn, so a run of
//! 30,000 events stays responsive; the page records its own load time (`#load-ms`).

use labtest::record::TraceFile;
use lincheck::html::escape;

/// Renders the page for the trace `json` (a [`TraceFile`]), titled `title`.
pub fn render(json: &str, title: &str) -> Result<String, String> {
    let trace = TraceFile::from_json(json)?;
    // The page gets the trace as the type writes it, whatever the file's spacing or extra
    // keys: the script reads exactly the shape `TraceFile` declares.
    let data = serde_json::to_string(&trace).map_err(|e| format!("the trace: {e}"))?;
    // The data goes in a script element: `</` must not close it early.
    let embedded = data.replace("</", "<\\/");
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body data-rendered=\"no\">\n\
         <header><h1>{title}</h1><div id=\"summary\"></div>\n\
         <div id=\"controls\"><button id=\"zoom-in\">zoom in</button><button id=\"zoom-out\">zoom out</button>\
         <button id=\"fit\">whole run</button><button id=\"to-failure\">failure</button>\
         <span id=\"view\"></span> <span class=\"hint\">wheel: zoom · drag: pan · hover: details</span></div>\n\
         <div id=\"filters\"><span>nodes:</span><span id=\"node-filters\"></span><span>events:</span><span id=\"kind-filters\"></span></div>\n\
         <div id=\"failure-text\"></div></header>\n\
         <div id=\"chart\"></div>\n<div id=\"details\"></div>\n\
         <footer>loaded in <span id=\"load-ms\">?</span> ms · <span id=\"count-events\"></span> events · \
         <span id=\"count-arrows\"></span> arrows in view</footer>\n\
         <script type=\"application/json\" id=\"trace-data\">{embedded}</script>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape(title),
    ))
}

/// The page's style and script, kept as files of their own (`labs/assets/`) and built into
/// the binary: the page needs nothing from outside.
const STYLE: &str = include_str!("../assets/timeline.css");
const SCRIPT: &str = include_str!("../assets/timeline.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_embeds_the_trace_safely_and_needs_nothing_outside() {
        let json = r#"{"format":"labs-trace/1","test":"t","seed":1,"nodes":["test","s0"],
            "virtual_secs":1.0,"events_total":1,"failure":null,"missing":null,
            "events":[{"t":5,"n":0,"k":"note","text":"</script><b>"}]}"#;
        let page = render(json, "t <seed 1>").unwrap();
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(page.contains("<title>t &lt;seed 1&gt;</title>"));
        for external in ["src=\"http", "<link", "@import"] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(render("{}", "x").unwrap_err().contains("labs-trace/1"));
        let unknown_kind = json.replace(r#""k":"note""#, r#""k":"vote""#);
        assert!(render(&unknown_kind, "x").unwrap_err().contains("`vote`"));
        assert!(render("nope", "x").is_err());
    }
}
