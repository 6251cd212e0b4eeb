//! The text-table layout of `plan`'s report: columns two spaces apart, each as wide as its
//! widest cell (counted in characters), the last column never padded. The CLI renders
//! `status` and `verify` with the same layout (and right-aligned columns) itself.

/// Rows of cells, rendered together so that every column lines up. Cells are left-aligned.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    min_widths: Vec<usize>,
    indent: String,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table of `columns` columns.
    pub(crate) fn new(columns: usize) -> Self {
        Table {
            min_widths: vec![0; columns],
            indent: String::new(),
            rows: Vec::new(),
        }
    }

    /// Each line starts with `indent`.
    pub(crate) fn indent(mut self, indent: &str) -> Self {
        self.indent = indent.to_owned();
        self
    }

    /// Column `column` is at least `width` characters wide (to line up with other tables).
    pub(crate) fn min_width(mut self, column: usize, width: usize) -> Self {
        self.min_widths[column] = width;
        self
    }

    /// Adds a row. Missing cells are empty.
    pub(crate) fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.min_widths.len(), String::new());
        self.rows.push(cells);
    }

    /// Every row, one line each, each ending with a newline.
    pub(crate) fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.min_widths.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.min_widths[i]])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            out.push_str(&self.indent);
            let last = row.len() - 1;
            for (i, cell) in row.iter().enumerate() {
                if i == last {
                    out.push_str(cell);
                    break;
                }
                let width = widths[i];
                out.push_str(&format!("{cell:<width$}  "));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_indent_and_minimum_width() {
        let mut t = Table::new(2).indent("  ").min_width(0, 6);
        t.row(["ab", "x"]);
        assert_eq!(t.render(), "  ab      x\n");
        let mut t = Table::new(2).min_width(0, 1);
        t.row(["ab", "x"]);
        t.row(["abc"]);
        assert_eq!(t.render(), "ab   x\nabc  \n");
        let mut t = Table::new(3);
        t.row(["tópico-1", "7", "EQUAL"]);
        t.row(["t-0", "123", "DIFFERS"]);
        assert_eq!(t.render(), "tópico-1  7    EQUAL\nt-0       123  DIFFERS\n");
    }
}
