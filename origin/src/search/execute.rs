//! One text search: the ranked page, the total, and disjunctive facets.
//!
//! Passes over the index, each a tantivy search:
//! 1. the query with every filter: the page (sorted, see `collect.rs`) and the total; and,
//!    for each facet whose filter is not set, that facet's counts (its "every filter but its
//!    own" query is this one);
//! 2. for each facet whose filter is set (category, brand, price range), the query with
//!    every filter but that one, for that facet's counts;
//! 3. the price histogram, once the price range of step 1 or 2 is known.
//!
//! When every-term matching finds nothing, every pass uses the any-term query instead (the
//! fallback of `query.rs`).

use tantivy::{
    DocAddress, Searcher,
    collector::{Count, FacetCollector, FacetCounts, TopDocs},
    query::Query,
    schema::Facet,
};
use vitrine_common::api::{
    FacetCounts as ApiFacetCounts, Facets, PriceStats, SearchFilters, SearchHit,
};

use super::{
    SearchIndex, SearchOutcome, SearchQuery,
    collect::{Buckets, PriceHistogram, PriceRange, SortKey, SortTweaker},
    highlight::Matcher,
    query,
    synonyms::Synonyms,
};

fn facet_collector(field: &str) -> FacetCollector {
    let mut c = FacetCollector::for_field(field);
    c.add_facet(Facet::root());
    c
}

fn counts(counts: FacetCounts) -> ApiFacetCounts {
    counts
        .get("/")
        .filter_map(|(facet, n)| facet.to_path().last().map(|name| ((*name).to_owned(), n)))
        .collect()
}

pub(super) fn run(index: &SearchIndex, q: &SearchQuery) -> anyhow::Result<SearchOutcome> {
    let f = index.inner.fields;
    let searcher = index.inner.reader.searcher();
    let synonyms = index.synonyms();
    let build = |filters: &SearchFilters, all_terms: bool| {
        query::build(
            &index.inner.index,
            &f,
            &q.text,
            filters,
            &synonyms,
            all_terms,
        )
    };
    let filters = &q.filters;
    let (has_category, has_brand) = (!filters.category.is_empty(), !filters.brand.is_empty());
    let has_price = filters.price_min.is_some() || filters.price_max.is_some();
    let main_pass = |query: &dyn Query| -> anyhow::Result<_> {
        let top = TopDocs::with_limit(q.limit as usize)
            .and_offset(q.offset as usize)
            .tweak_score(SortTweaker(q.sort));
        let extra = (
            (!has_category).then(|| facet_collector("category_facet")),
            (!has_brand).then(|| facet_collector("brand_facet")),
            (!has_price).then_some(PriceRange),
        );
        Ok(searcher.search(query, &((top, Count), extra))?)
    };
    let mut all_terms = true;
    let mut main = build(filters, true)?;
    let ((mut top, mut total), mut extra) = main_pass(main.as_ref())?;
    if total == 0 && !q.text.trim().is_empty() {
        all_terms = false;
        main = build(filters, false)?;
        ((top, total), extra) = main_pass(main.as_ref())?;
    }
    let (categories, brands, range) = extra;
    let without = |change: fn(&mut SearchFilters)| -> anyhow::Result<Box<dyn Query>> {
        let mut other = filters.clone();
        change(&mut other);
        build(&other, all_terms)
    };
    // A facet its filter restricts: counted again without that filter.
    let recount = |counted: Option<FacetCounts>, field, clear: fn(&mut SearchFilters)| match counted
    {
        Some(c) => Ok::<_, anyhow::Error>(c),
        None => Ok(searcher.search(without(clear)?.as_ref(), &facet_collector(field))?),
    };
    let categories = recount(categories, "category_facet", |o| o.category.clear())?;
    let brands = recount(brands, "brand_facet", |o| o.brand.clear())?;
    let (price_query, range) = match range {
        Some(range) => (main, range),
        None => {
            let query = without(|o| {
                o.price_min = None;
                o.price_max = None;
            })?;
            let range = searcher.search(query.as_ref(), &PriceRange)?;
            (query, range)
        }
    };
    let price = price_stats(&searcher, price_query.as_ref(), range)?;
    let hits = hydrate(index, &searcher, q, &synonyms, top)?;
    Ok(SearchOutcome {
        hits,
        total: total as u64,
        facets: Facets {
            category: counts(categories),
            brand: counts(brands),
            price,
        },
    })
}

fn price_stats(
    searcher: &Searcher,
    query: &dyn Query,
    range: Option<(i64, i64)>,
) -> anyhow::Result<PriceStats> {
    let Some((lo, hi)) = range else {
        return Ok(PriceStats::default());
    };
    let buckets = Buckets::new(lo, hi);
    let counts = searcher.search(query, &PriceHistogram(buckets))?;
    Ok(PriceStats {
        min: Some(lo),
        max: Some(hi),
        histogram: buckets.with_counts(&counts),
    })
}

/// The page's products, each with its highlight (none for an empty query).
fn hydrate(
    index: &SearchIndex,
    searcher: &Searcher,
    q: &SearchQuery,
    synonyms: &Synonyms,
    top: Vec<(SortKey, DocAddress)>,
) -> anyhow::Result<Vec<SearchHit>> {
    let stemmed = query::tokens(&index.inner.index, super::ANALYZER, &q.text);
    let plain = query::tokens(&index.inner.index, super::PREFIX_ANALYZER, &q.text);
    let typing = !q.text.ends_with(char::is_whitespace);
    let matcher = (!stemmed.is_empty())
        .then(|| Matcher::new(&stemmed, &plain, typing, synonyms.expansion_words(&stemmed)));
    let (mut stem_analyzer, mut plain_analyzer) =
        (super::stemmed_analyzer(), super::plain_analyzer());
    top.into_iter()
        .map(|((_, score, _), addr)| {
            let product = index.stored_product(searcher, addr)?;
            let highlight = matcher.as_ref().map(|m| {
                m.highlight(
                    &mut stem_analyzer,
                    &mut plain_analyzer,
                    &product.title,
                    &product.description,
                )
            });
            Ok(SearchHit {
                product,
                score,
                highlight,
            })
        })
        .collect::<anyhow::Result<_>>()
}
