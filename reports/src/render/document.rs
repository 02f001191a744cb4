//! The report as sections of blocks, built once from a [`Report`](crate::model::Report) by
//! `sections.rs` and walked by `markdown.rs` and `html.rs`. A section says *what* to show
//! (headings, prose with emphasised values, tables with pass/fail marks, examples, charts);
//! each renderer decides *how*, escaping all text in one place. A new section or column is
//! written once and appears in both formats.

use super::svg;

/// The whole report: the title's parts, then the sections in reading order.
pub(crate) struct Document {
    pub verdict: crate::model::Verdict,
    pub scenario: String,
    pub profile: String,
    pub sections: Vec<Section>,
}

/// One card of report.html, one `###` heading of report.md.
pub(crate) struct Section {
    /// HTML anchor (`id`); stable, so links to `report.html#chaos` keep working.
    pub id: &'static str,
    /// None for the summary, which sits under the title without a heading of its own.
    pub title: Option<String>,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(id: &'static str, title: &str) -> Self {
        Section {
            id,
            title: Some(title.to_owned()),
            blocks: Vec::new(),
        }
    }

    pub fn push(&mut self, block: impl Into<Block>) -> &mut Self {
        self.blocks.push(block.into());
        self
    }
}

pub(crate) enum Block {
    /// A heading inside a section (a probe's examples, the chaos timeline).
    Heading(String),
    Paragraph(Vec<Inline>),
    /// A bulleted list, one inline per item.
    List(Vec<Inline>),
    Table(Table),
    /// Drawn in report.html only: Markdown has no self-contained way to draw it, and the
    /// numbers behind every chart are in the tables or report.json.
    Figure(Figure),
}

impl From<Table> for Block {
    fn from(t: Table) -> Self {
        Block::Table(t)
    }
}

impl From<Vec<Inline>> for Block {
    fn from(p: Vec<Inline>) -> Self {
        Block::Paragraph(p)
    }
}

pub(crate) enum Figure {
    Chart(svg::Chart),
    Timeline(svg::Timeline),
    Bars(super::bars::StackedBars),
}

/// A run of text inside a paragraph or list item. All of it is escaped by the renderer.
pub(crate) enum Inline {
    Text(String),
    /// A value the reader looks for first (counts, verdict words, recovery times).
    Strong(String),
    /// Verbatim text: expressions, requests, files, command lines.
    Code(String),
    /// Pass (true) or fail (false), drawn as the format's mark.
    Mark(bool),
}

/// Shorthands that keep section code close to the sentence it writes.
pub(crate) fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}
pub(crate) fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}
pub(crate) fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Words: names, kinds, reasons.
    Left,
    /// Numbers, so digits line up.
    Right,
}

pub(crate) struct Column {
    pub header: String,
    pub align: Align,
}

impl Column {
    pub fn left(header: impl Into<String>) -> Self {
        Column {
            header: header.into(),
            align: Align::Left,
        }
    }
    pub fn right(header: impl Into<String>) -> Self {
        Column {
            header: header.into(),
            align: Align::Right,
        }
    }
    /// The pass/fail column; it comes first, where a reader scans for failures.
    pub fn mark() -> Self {
        Column::left("")
    }
}

pub(crate) enum Cell {
    Text(String),
    /// Verbatim (a threshold expression, a hypothesis).
    Code(String),
    Mark(bool),
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Text(n.to_string())
    }
}

pub(crate) struct Row {
    pub cells: Vec<Cell>,
    /// The summing row under a table (`all`), set apart from the rows it sums.
    pub total: bool,
}

pub(crate) struct Table {
    /// A styling hook for report.html (`endpoints` keeps names on one line).
    pub class: Option<&'static str>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// `Some(noun)` for a table that can run long (the chaos event log): each format shows
    /// as many rows as suits it and says how many more `noun` are in report.json.
    pub long: Option<&'static str>,
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Self {
        Table {
            class: None,
            columns,
            rows: Vec::new(),
            long: None,
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "one cell per column");
        self.rows.push(Row {
            cells,
            total: false,
        });
    }

    pub fn total_row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "one cell per column");
        self.rows.push(Row { cells, total: true });
    }
}
