//! The text-table layout of the `plan` and `verify` reports: columns two spaces apart, each as
//! wide as its widest cell (counted in characters), the last column never padded. The CLI
//! renders `status` with the same layout itself.

/// Rows of cells, rendered together so that every column lines up. Cells are left-aligned
/// unless their column is [`right_aligned`](Self::right_aligned).
#[derive(Debug, Clone)]
pub(crate) struct Table {
    min_widths: Vec<usize>,
    right: Vec<bool>,
    indent: String,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table of `columns` columns.
    pub(crate) fn new(columns: usize) -> Self {
        Table {
            min_widths: vec![0; columns],
            right: vec![false; columns],
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

    /// The cells of column `column` end at its right edge (counts).
    pub(crate) fn right_aligned(mut self, column: usize) -> Self {
        self.right[column] = true;
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
                if self.right[i] {
                    out.push_str(&format!("{cell:>width$}  "));
                } else {
                    out.push_str(&format!("{cell:<width$}  "));
                }
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
        let mut t = Table::new(3).right_aligned(1);
        t.row(["tópico-1", "7", "EQUAL"]);
        t.row(["t-0", "123", "DIFFERS"]);
        assert_eq!(t.render(), "tópico-1    7  EQUAL\nt-0       123  DIFFERS\n");
    }

    /// The start of every row's last cell is the same column as the header's, with short and
    /// long (and non-ASCII) cells alike, in left and right aligned columns.
    #[test]
    fn every_column_lines_up_whatever_the_lengths() {
        let long = "a-topic-name-that-is-much-longer-than-its-header-and-the-others-0";
        let mut t = Table::new(3).right_aligned(1);
        t.row(["NAME", "COUNT", "RESULT"]);
        t.row(["t-0", "1", "EQUAL"]);
        t.row([long, "123456789012", "DIFFERS"]);
        t.row(["tópico-1", "7", "EQUAL"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        let column = |line: &str, word: &str| line[..line.find(word).unwrap()].chars().count();
        let result = column(lines[0], "RESULT");
        assert_eq!(result, long.len() + 2 + 12 + 2);
        for (line, word) in lines[1..].iter().zip(["EQUAL", "DIFFERS", "EQUAL"]) {
            assert_eq!(column(line, word), result, "{text}");
        }
        // Right aligned: the counts end where the header ends.
        let end = column(lines[0], "COUNT") + "COUNT".len();
        assert_eq!(end, long.len() + 2 + 12);
        assert_eq!(column(lines[1], "1  ") + 1, end, "{text}");
        assert_eq!(column(lines[3], "7 ") + 1, end, "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text}");
    }
}
