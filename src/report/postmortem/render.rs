//! The draft as Markdown (CommonMark with GitHub tables and task lists, for a wiki or a
//! pull request) and as one self-contained HTML page (the report's style, no script, no
//! request). Both write each ref the same way: Markdown as `` [`file#pointer`] ``, HTML
//! as `<cite class="ref"><code>file#pointer</code></cite>`; every line that states
//! something ends with its refs, and the blanks for the team start with ✎.

use std::fmt::Write;

use super::draft::{Block, Cite, Draft, Line};
use crate::escape::{html as esc, markdown_cell as cell};

/// What the draft says about itself, under the title.
const HOW_TO_READ: &str = "Every statement cites the evidence behind it: a path into the sealed bundle and a JSON pointer into that file (refs into the follow-up start with its id). Lines marked ✎ are for the team to fill in.";

/// The draft as Markdown.
pub fn markdown(draft: &Draft) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Postmortem draft: {}\n", cell(&draft.title));
    for line in &draft.provenance {
        let _ = writeln!(out, "> {}  ", md_line(line));
    }
    let _ = writeln!(out, "> {HOW_TO_READ}\n");
    for section in &draft.sections {
        let _ = writeln!(out, "## {}\n", section.title);
        for block in &section.blocks {
            md_block(&mut out, block);
        }
    }
    out
}

fn md_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(lines) => {
            for line in lines {
                let _ = writeln!(out, "{}", md_line(line));
            }
        }
        Block::Bullets(lines) => {
            for line in lines {
                let _ = writeln!(out, "- {}", md_line(line));
            }
        }
        Block::Steps(lines) => {
            for (n, line) in lines.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", n + 1, md_line(line));
            }
        }
        Block::Table { head, rows } => {
            let _ = writeln!(out, "| {} |", head.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
            for row in rows {
                let cells: Vec<String> = row.cells.iter().map(|c| cell(c)).collect();
                let _ = writeln!(out, "| {} | {} |", cells.join(" | "), md_refs(&row.cites));
            }
        }
        Block::Subheading(title) => {
            let _ = writeln!(out, "### {title}");
        }
    }
    out.push('\n');
}

fn md_line(line: &Line) -> String {
    match line {
        Line::Fact { text, cites } => format!("{} {}", cell(text), md_refs(cites)),
        Line::Action { text, cites } => {
            format!("[ ] {} (owner: ______) {}", cell(text), md_refs(cites))
        }
        Line::Blank { prompt } => format!("✎ {prompt}"),
    }
}

/// `` [`ref`] `` for each ref, with a code span that the ref cannot close.
fn md_refs(cites: &[Cite]) -> String {
    cites
        .iter()
        .map(|c| {
            let text = c.to_string();
            if text.contains('`') { format!("[`` {text} ``]") } else { format!("[`{text}`]") }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the draft adds to the report's style.
const STYLE: &str = r#"
cite.ref{font-style:normal;white-space:nowrap}cite.ref code{color:var(--muted);font-size:11px}
li.blank,p.blank{color:var(--muted)}li.action{list-style:none;margin-left:-1.2em}
header .note{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;font-size:13px}
ol li{margin:4px 0}
"#;

/// The draft as one self-contained HTML page.
pub fn html(draft: &Draft) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<title>Postmortem draft: {}</title>\n<style>{}{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>Postmortem draft</h1>\n<p class=\"meta\">{}</p>\n<div class=\"note\">\n",
        esc(&draft.title),
        crate::report::html::STYLE,
        esc(&draft.title)
    );
    for line in &draft.provenance {
        let _ = writeln!(out, "<p>{}</p>", html_inline(line));
    }
    let _ = writeln!(out, "<p>{}</p>\n</div>\n</header>\n<main>", esc(HOW_TO_READ));
    for section in &draft.sections {
        let _ = writeln!(out, "<section id=\"{}\">\n<h2>{}</h2>", section.id, esc(section.title));
        for block in &section.blocks {
            html_block(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn html_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(lines) => {
            let sentences: Vec<String> = lines.iter().map(html_inline).collect();
            let _ = writeln!(out, "<p>{}</p>", sentences.join(" "));
        }
        Block::Bullets(lines) | Block::Steps(lines) => {
            let tag = if matches!(block, Block::Steps(_)) { "ol" } else { "ul" };
            let _ = writeln!(out, "<{tag}>");
            for line in lines {
                let _ = writeln!(out, "{}", html_item(line));
            }
            let _ = writeln!(out, "</{tag}>");
        }
        Block::Table { head, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for h in head {
                let _ = write!(out, "<th>{}</th>", esc(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr class=\"fact\">");
                for c in &row.cells {
                    let _ = write!(out, "<td>{}</td>", esc(c));
                }
                let _ = writeln!(out, "<td>{}</td></tr>", html_refs(&row.cites));
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Subheading(title) => {
            let _ = writeln!(out, "<h3>{}</h3>", esc(title));
        }
    }
}

/// A line inside a paragraph.
fn html_inline(line: &Line) -> String {
    match line {
        Line::Fact { text, cites } | Line::Action { text, cites } => {
            format!("<span class=\"fact\">{} {}</span>", esc(text), html_refs(cites))
        }
        Line::Blank { prompt } => format!("<span class=\"blank\">✎ {}</span>", esc(prompt)),
    }
}

/// A line as a list item.
fn html_item(line: &Line) -> String {
    match line {
        Line::Fact { text, cites } => {
            format!("<li class=\"fact\">{} {}</li>", esc(text), html_refs(cites))
        }
        Line::Action { text, cites } => format!(
            "<li class=\"fact action\"><input type=\"checkbox\" aria-label=\"done\"> {} (owner: ______) {}</li>",
            esc(text),
            html_refs(cites)
        ),
        Line::Blank { prompt } => format!("<li class=\"blank\">✎ {}</li>", esc(prompt)),
    }
}

fn html_refs(cites: &[Cite]) -> String {
    cites
        .iter()
        .map(|c| format!("<cite class=\"ref\"><code>{}</code></cite>", esc(&c.to_string())))
        .collect::<Vec<_>>()
        .join(" ")
}
