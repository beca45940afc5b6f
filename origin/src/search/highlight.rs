//! Highlighting: a result's title and description with `<mark>` around the words the query
//! matched — exactly, through a typo (within the same edit budget as the search), as the
//! prefix being typed, or as a synonym — and everything else HTML-escaped.

use tantivy::tokenizer::TextAnalyzer;
use vitrine_common::api::Highlight;

use super::query::fuzzy_distance;

/// What a text's words are compared with.
pub struct Matcher {
    /// Each query word: analysed form, plain form, its typo budget.
    words: Vec<(String, String, u8)>,
    /// The plain last word when it is being typed (prefix matches).
    prefix: Option<String>,
    /// Analysed words of the synonym alternatives the query was expanded with.
    synonyms: Vec<String>,
}

impl Matcher {
    pub fn new(
        stemmed: &[String],
        plain: &[String],
        typing: bool,
        synonyms: Vec<String>,
    ) -> Matcher {
        let words = stemmed
            .iter()
            .zip(plain)
            .map(|(s, p)| (s.clone(), p.clone(), fuzzy_distance(p.chars().count())))
            .collect();
        Matcher {
            words,
            prefix: plain.last().filter(|_| typing).cloned(),
            synonyms,
        }
    }

    fn matches(&self, stem: &str, plain: &str) -> bool {
        self.synonyms.iter().any(|s| s == stem)
            || self.prefix.as_deref().is_some_and(|p| plain.starts_with(p))
            || self.words.iter().any(|(s, _, budget)| {
                s == stem || (*budget > 0 && edits(s, stem) <= *budget as usize)
            })
    }

    /// `text` as HTML with the matched words marked.
    pub fn mark(
        &self,
        analyzer: &mut TextAnalyzer,
        plain: &mut TextAnalyzer,
        text: &str,
    ) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        let mut at = 0;
        let mut stream = analyzer.token_stream(text);
        let mut spans = Vec::new();
        while stream.advance() {
            let t = stream.token();
            spans.push((t.offset_from, t.offset_to, t.text.clone()));
        }
        drop(stream);
        for (from, to, stem) in spans {
            let word = &text[from..to];
            let mut folded = String::new();
            let mut p = plain.token_stream(word);
            while p.advance() {
                folded.push_str(&p.token().text);
            }
            if self.matches(&stem, &folded) {
                escape_into(&mut out, &text[at..from]);
                out.push_str("<mark>");
                escape_into(&mut out, word);
                out.push_str("</mark>");
                at = to;
            }
        }
        escape_into(&mut out, &text[at..]);
        out
    }

    pub fn highlight(
        &self,
        analyzer: &mut TextAnalyzer,
        plain: &mut TextAnalyzer,
        title: &str,
        description: &str,
    ) -> Highlight {
        Highlight {
            title: self.mark(analyzer, plain, title),
            description: self.mark(analyzer, plain, description),
        }
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Edits between `a` and `b`, a transposition counting as one (as the search's typo rule).
fn edits(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 {
        return 3;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzers() -> (TextAnalyzer, TextAnalyzer) {
        (
            super::super::stemmed_analyzer(),
            super::super::plain_analyzer(),
        )
    }

    fn words(a: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn exact_typo_prefix_and_synonym_matches_are_marked_and_the_rest_escaped() {
        let (mut stem, mut plain) = analyzers();
        let q = "lapotp swe";
        let m = Matcher::new(
            &words(&mut stem, q),
            &words(&mut plain, q),
            true,
            vec!["sneaker".into()],
        );
        let html = m.mark(&mut stem, &mut plain, "Laptops & <b>Sweaters</b>, sneakers");
        assert_eq!(
            html,
            "<mark>Laptops</mark> &amp; &lt;b&gt;<mark>Sweaters</mark>&lt;/b&gt;, <mark>sneakers</mark>"
        );
        let m = Matcher::new(
            &words(&mut stem, "mug "),
            &words(&mut plain, "mug "),
            false,
            Vec::new(),
        );
        assert_eq!(
            m.mark(&mut stem, &mut plain, "Mugs, smug"),
            "<mark>Mugs</mark>, smug"
        );
        assert_eq!(edits("lapotp", "laptop"), 1);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
