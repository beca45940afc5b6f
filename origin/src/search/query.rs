//! Turns a shopper's query text and filters into a tantivy query (see the module above
//! for the ranking rules this implements).

use std::ops::Bound;

use tantivy::{
    Index, Term,
    query::{
        AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query,
        RangeQuery, TermQuery,
    },
    schema::IndexRecordOption,
};
use vitrine_common::api::SearchFilters;

use super::{ANALYZER, Fields, PREFIX_ANALYZER};

/// Longest query, in terms; the rest is ignored (a 200-character limit applies upstream).
const MAX_TERMS: usize = 12;

fn tokens(index: &Index, analyzer: &str, text: &str) -> Vec<String> {
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

/// Builds the query. `all_terms`: every term must match (else any term may).
pub fn build(
    index: &Index,
    f: &Fields,
    text: &str,
    filters: &SearchFilters,
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
    for i in 0..n {
        let (stem, raw) = (&stemmed[i], &plain[i]);
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in [
            (f.title, 3.0),
            (f.brand, 2.0),
            (f.category, 1.5),
            (f.description, 1.0),
        ] {
            let tq = TermQuery::new(
                Term::from_field_text(field, stem),
                IndexRecordOption::WithFreqs,
            );
            alternatives.push((Occur::Should, boxed(BoostQuery::new(boxed(tq), boost))));
        }
        let distance = fuzzy_distance(raw.chars().count());
        if distance > 0 {
            let fq = FuzzyTermQuery::new(Term::from_field_text(f.all, stem), distance, true);
            alternatives.push((Occur::Should, boxed(ConstScoreQuery::new(boxed(fq), 0.5))));
        }
        if i + 1 == n && typing_last_term {
            let pq = FuzzyTermQuery::new_prefix(Term::from_field_text(f.prefix, raw), 0, true);
            alternatives.push((Occur::Should, boxed(ConstScoreQuery::new(boxed(pq), 0.75))));
        }
        clauses.push((term_occur, boxed(BooleanQuery::new(alternatives))));
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
    if let Some(category) = &filters.category {
        out.push(boxed(TermQuery::new(
            Term::from_field_text(f.category_exact, category.as_str()),
            IndexRecordOption::Basic,
        )));
    }
    if let Some(brand) = &filters.brand {
        out.push(boxed(TermQuery::new(
            Term::from_field_text(f.brand_exact, brand.as_str()),
            IndexRecordOption::Basic,
        )));
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
