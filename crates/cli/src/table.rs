//! The text-table layout of `status` (`plan`'s and `verify`'s reports are rendered by
//! kreplicate-replicate the same way): columns two spaces apart, each as
//! wide as its widest cell (counted in characters, so the header lines up with every row
//! whatever the names' lengths), the last column never padded.

/// Rows of cells, rendered together so that every column lines up. Cells are left-aligned.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    columns: usize,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table of `columns` columns.
    pub(crate) fn new(columns: usize) -> Self {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row (the header is a row like the others). Missing cells are empty.
    pub(crate) fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.columns, String::new());
        self.rows.push(cells);
    }

    /// Every row, one line each, each ending with a newline.
    pub(crate) fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.columns)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
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

    /// The start of every row's last cell is the same column as the header's, with short and
    /// long (and non-ASCII) cells alike.
    #[test]
    fn every_column_lines_up_whatever_the_lengths() {
        let long = "a-topic-name-that-is-much-longer-than-its-header-and-the-others-0";
        let mut t = Table::new(3);
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
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text}");
    }
}
