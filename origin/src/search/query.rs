//! Turns a shopper's query text and filters into a tantivy query (see the module above
//! for the ranking rules this implements).

use std::ops::Bound;

use tantivy::{
    Index, Term,
    query::{
        AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery,
        Query, RangeQuery, TermQuery, TermSetQuery,
    },
    schema::IndexRecordOption,
};
use vitrine_common::api::SearchFilters;

use super::{ANALYZER, Fields, PREFIX_ANALYZER, synonyms::Synonyms};

/// Longest query, in terms; the rest is ignored (a 200-character limit applies upstream).
const MAX_TERMS: usize = 12;
/// Most synonym alternatives one query is expanded with; further matches are searched as typed.
pub const MAX_EXPANSIONS: usize = 32;

pub(super) fn tokens(index: &Index, analyzer: &str, text: &str) -> Vec<String> {
    let Some(mut analyzer) = index.tokenizers().get(analyzer) else {
        return Vec::new();
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Edits allowed for a term of `len` characters.
pub fn fuzzy_distance(len: usize) -> u8 {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

/// The query clause of one term: exact (BM25 per field, boosted), fuzzy, and prefix when it
/// is the last term being typed. A fuzzy or prefix match in the title scores a little more
/// than one anywhere else (a typo of "laptop" should find laptops before backpacks with a
/// laptop sleeve), and both stay below an exact match.
fn term_clause(f: &Fields, stem: &str, raw: &str, prefix: bool) -> Box<dyn Query> {
    let mut alternatives = exact_alternatives(f, std::slice::from_ref(&stem.to_owned()), 1.0);
    let distance = fuzzy_distance(raw.chars().count());
    if distance > 0 {
        for (field, score) in [(f.all, 0.5), (f.title, 0.25)] {
            let fq = FuzzyTermQuery::new(Term::from_field_text(field, stem), distance, true);
            alternatives.push((Occur::Should, boxed(ConstScoreQuery::new(boxed(fq), score))));
        }
    }
    if prefix {
        let pq = FuzzyTermQuery::new_prefix(Term::from_field_text(f.prefix, raw), 0, true);
        alternatives.push((Occur::Should, boxed(ConstScoreQuery::new(boxed(pq), 0.75))));
        // The title is stemmed: "lap" is a prefix of its "laptop" as of the plain form.
        let tq = FuzzyTermQuery::new_prefix(Term::from_field_text(f.title, raw), 0, true);
        alternatives.push((Occur::Should, boxed(ConstScoreQuery::new(boxed(tq), 0.25))));
    }
    boxed(BooleanQuery::new(alternatives))
}

/// Exact matches of an analysed phrase: one word in any field (boosted by field), several
/// words as a phrase in the title and in the catch-all field (the fields with positions).
fn exact_alternatives(f: &Fields, phrase: &[String], weight: f32) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let [word] = phrase {
        for (field, boost) in [
            (f.title, 3.0),
            (f.brand, 2.0),
            (f.category, 1.5),
            (f.description, 1.0),
        ] {
            let tq = TermQuery::new(
                Term::from_field_text(field, word),
                IndexRecordOption::WithFreqs,
            );
            out.push((
                Occur::Should,
                boxed(BoostQuery::new(boxed(tq), boost * weight)),
            ));
        }
    } else {
        for (field, boost) in [(f.title, 3.0), (f.all, 1.0)] {
            let terms = phrase
                .iter()
                .map(|w| Term::from_field_text(field, w))
                .collect();
            out.push((
                Occur::Should,
                boxed(BoostQuery::new(
                    boxed(PhraseQuery::new(terms)),
                    boost * weight,
                )),
            ));
        }
    }
    out
}

/// Builds the query. `all_terms`: every term must match (else any term may). A run of query
/// terms that is a synonym term matches as typed or as any of its alternatives (scored a
/// little lower, so the shopper's own words win a tie).
pub fn build(
    index: &Index,
    f: &Fields,
    text: &str,
    filters: &SearchFilters,
    synonyms: &Synonyms,
    all_terms: bool,
) -> anyhow::Result<Box<dyn Query>> {
    let stemmed = tokens(index, ANALYZER, text);
    let plain = tokens(index, PREFIX_ANALYZER, text);
    let typing_last_term = !text.ends_with(char::is_whitespace);
    let n = stemmed.len().min(plain.len()).min(MAX_TERMS);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let term_occur = if all_terms {
        Occur::Must
    } else {
        Occur::Should
    };
    let mut expansions = 0;
    let mut i = 0;
    while i < n {
        let span = synonyms
            .match_at(&stemmed[i..n])
            .filter(|_| expansions < MAX_EXPANSIONS);
        let len = span.map_or(1, |(len, _)| len);
        let typed: Vec<Box<dyn Query>> = (i..i + len)
            .map(|j| term_clause(f, &stemmed[j], &plain[j], j + 1 == n && typing_last_term))
            .collect();
        let typed = if typed.len() == 1 {
            typed.into_iter().next().unwrap_or_else(|| boxed(AllQuery))
        } else {
            boxed(BooleanQuery::new(
                typed.into_iter().map(|q| (Occur::Must, q)).collect(),
            ))
        };
        let clause = match span {
            None => typed,
            Some((_, alternatives)) => {
                let mut any: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, typed)];
                for alternative in alternatives.iter().take(MAX_EXPANSIONS - expansions) {
                    expansions += 1;
                    any.push((
                        Occur::Should,
                        boxed(BooleanQuery::new(exact_alternatives(f, alternative, 0.9))),
                    ));
                }
                boxed(BooleanQuery::new(any))
            }
        };
        clauses.push((term_occur, clause));
        i += len;
    }
    if clauses.is_empty() {
        clauses.push((Occur::Must, boxed(AllQuery)));
    }
    for filter in filter_clauses(f, filters) {
        clauses.push((Occur::Must, boxed(ConstScoreQuery::new(filter, 0.0))));
    }
    Ok(boxed(BooleanQuery::new(clauses)))
}

fn filter_clauses(f: &Fields, filters: &SearchFilters) -> Vec<Box<dyn Query>> {
    let mut out = Vec::new();
    // Several values of one facet: any of them (OR); the facets themselves are AND-ed.
    let any_of = |field, values: Vec<&str>| -> Box<dyn Query> {
        let terms: Vec<Term> = values
            .into_iter()
            .map(|v| Term::from_field_text(field, v))
            .collect();
        boxed(TermSetQuery::new(terms))
    };
    if !filters.category.is_empty() {
        let values = filters.category.iter().map(|c| c.as_str()).collect();
        out.push(any_of(f.category_exact, values));
    }
    if !filters.brand.is_empty() {
        let values = filters.brand.iter().map(|b| b.as_str()).collect();
        out.push(any_of(f.brand_exact, values));
    }
    if filters.price_min.is_some() || filters.price_max.is_some() {
        let lo = filters
            .price_min
            .map(|p| Bound::Included(Term::from_field_i64(f.price, p.minor_units())))
            .unwrap_or(Bound::Unbounded);
        let hi = filters
            .price_max
            .map(|p| Bound::Included(Term::from_field_i64(f.price, p.minor_units())))
            .unwrap_or(Bound::Unbounded);
        out.push(boxed(RangeQuery::new(lo, hi)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fuzzy_distance;

    #[test]
    fn typo_budget_grows_with_term_length() {
        assert_eq!(fuzzy_distance(4), 0);
        assert_eq!(fuzzy_distance(5), 1);
        assert_eq!(fuzzy_distance(8), 1);
        assert_eq!(fuzzy_distance(9), 2);
    }
}
