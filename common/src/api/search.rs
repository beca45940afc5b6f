//! Request and response types of text search (and the filters image search shares).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Brand, Category, Limit, Offset, Price, Product};
use crate::error::InvalidInput;

/// Longest accepted search query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most values one facet filter (`category`, `brand`) may select.
pub const MAX_FACET_VALUES: usize = 20;

/// The order of text-search results. Ties (equal price, equal date) fall back to relevance,
/// then to the product id, so paging through a sort never repeats or skips a product.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Best match first (the default).
    #[default]
    Relevance,
    /// Cheapest first.
    PriceAsc,
    /// Most expensive first.
    PriceDesc,
    /// Most recently created first.
    Newest,
}

impl SortOrder {
    pub const ALL: [SortOrder; 4] = [
        SortOrder::Relevance,
        SortOrder::PriceAsc,
        SortOrder::PriceDesc,
        SortOrder::Newest,
    ];

    /// Parses the `sort` parameter (absent means relevance).
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidInput> {
        let Some(raw) = raw else {
            return Ok(SortOrder::Relevance);
        };
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                InvalidInput::new(
                    "sort",
                    format!(
                        "must be one of relevance, price_asc, price_desc, newest (got {:?})",
                        raw.chars().take(40).collect::<String>()
                    ),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Relevance => "relevance",
            SortOrder::PriceAsc => "price_asc",
            SortOrder::PriceDesc => "price_desc",
            SortOrder::Newest => "newest",
        }
    }
}

/// Accepts one value or an array of values (a body's `"brand": "Acme"` or `["Acme", "Kumo"]`).
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    // Through a `Value`, so a bad value's own message (naming its field) comes through
    // rather than serde's "did not match any variant".
    let value = serde_json::Value::deserialize(d)?;
    if value.is_array() {
        Vec::<T>::deserialize(value).map_err(serde::de::Error::custom)
    } else {
        T::deserialize(value)
            .map(|v| vec![v])
            .map_err(serde::de::Error::custom)
    }
}

/// Filters shared by text and image search. Several values of one facet are OR-ed (any of
/// these brands), different facets AND-ed (one of these brands and in this category).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFilters {
    /// One category or several (any of them).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub category: Vec<Category>,
    /// One brand or several (any of them).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub brand: Vec<Brand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<Price>,
}

impl SearchFilters {
    /// Rejects an empty price range, which can only be a client mistake.
    pub fn check(&self) -> Result<(), InvalidInput> {
        if let (Some(lo), Some(hi)) = (self.price_min, self.price_max)
            && lo > hi
        {
            return Err(InvalidInput::new(
                "price_min",
                "must not be greater than price_max",
            ));
        }
        Ok(())
    }

    /// Rejects more than [`MAX_FACET_VALUES`] values in one facet (checked before any work).
    pub fn check_value_counts(&self) -> Result<(), InvalidInput> {
        for (field, n) in [
            ("category", self.category.len()),
            ("brand", self.brand.len()),
        ] {
            if n > MAX_FACET_VALUES {
                return Err(InvalidInput::new(
                    field,
                    format!("at most {MAX_FACET_VALUES} values may be selected (got {n})"),
                ));
            }
        }
        Ok(())
    }

    /// The same filters with each facet's values sorted and deduplicated, so two requests
    /// that select the same values in another order are the same search (and cache entry).
    pub fn normalized(mut self) -> SearchFilters {
        self.category.sort();
        self.category.dedup();
        self.brand.sort();
        self.brand.dedup();
        self
    }

    /// Fills unset fields from `other` (used when a body has both top-level and nested filters).
    pub fn or(self, other: SearchFilters) -> SearchFilters {
        SearchFilters {
            category: if self.category.is_empty() {
                other.category
            } else {
                self.category
            },
            brand: if self.brand.is_empty() {
                other.brand
            } else {
                self.brand
            },
            price_min: self.price_min.or(other.price_min),
            price_max: self.price_max.or(other.price_max),
        }
    }
}

fn yes() -> bool {
    true
}

/// The body of `POST /api/search/text`: the seed's shape (`query`, `limit`, `use_cache`)
/// plus optional sort and filters, at the top level or nested under `filters`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextSearchRequest {
    pub query: String,
    #[serde(default)]
    pub limit: Limit,
    #[serde(default)]
    pub offset: Offset,
    #[serde(default = "yes")]
    pub use_cache: bool,
    /// `relevance` (default), `price_asc`, `price_desc` or `newest`; anything else is a 400
    /// naming `sort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<SortOrder>))]
    pub sort: Option<String>,
    /// One category or several (any of them).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub category: Vec<Category>,
    /// One brand or several (any of them).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub brand: Vec<Brand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<SearchFilters>,
}

impl TextSearchRequest {
    /// The effective filters: top-level fields win over nested ones.
    pub fn effective_filters(&self) -> SearchFilters {
        let top = SearchFilters {
            category: self.category.clone(),
            brand: self.brand.clone(),
            price_min: self.price_min,
            price_max: self.price_max,
        };
        match &self.filters {
            Some(nested) => top.or(nested.clone()),
            None => top,
        }
    }
}

/// One search hit: the product, its relevance score and the highlighted matches.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub product: Product,
    pub score: f32,
    /// The title and description as HTML: `<mark>` around the words the query matched
    /// (exactly, through a typo, as the prefix being typed, or as a synonym), everything
    /// else escaped. Absent for an empty query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Highlight>,
}

/// A hit's matched words, marked (see [`SearchHit::highlight`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlight {
    pub title: String,
    pub description: String,
}

/// Facet counts: value → number of matching products.
pub type FacetCounts = BTreeMap<String, u64>;

/// One histogram bucket: products priced `from` ≤ price < `to` (the last bucket includes
/// `to`), in minor units.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceBucket {
    pub from: i64,
    pub to: i64,
    pub count: u64,
}

/// Prices of the products the query matches (with every filter but the price range, so a
/// price selector can still show the whole range): `null` and no buckets when nothing matches.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceStats {
    pub min: Option<i64>,
    pub max: Option<i64>,
    #[serde(default)]
    pub histogram: Vec<PriceBucket>,
}

/// Facet counts. Each facet is counted with every filter except its own (disjunctive facets):
/// with `brand=Acme` selected, `brand` still counts every brand the rest of the query
/// matches, so a shopper can add a second brand; `category` counts only Acme's products.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facets {
    pub category: FacetCounts,
    pub brand: FacetCounts,
    #[serde(default)]
    pub price: PriceStats,
}

/// The response of both text-search endpoints.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextSearchResponse {
    pub query: String,
    /// The order the results are in.
    #[serde(default)]
    pub sort: SortOrder,
    pub results: Vec<SearchHit>,
    pub total: u64,
    pub facets: Facets,
    pub took_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_body_accepts_seed_shape_and_nested_filters() {
        let r: TextSearchRequest = serde_json::from_value(serde_json::json!({
            "query": "laptop computer", "limit": 20, "use_cache": true,
            "filters": {"category": "Laptops"}, "price_max": 200000
        }))
        .unwrap();
        let f = r.effective_filters();
        assert_eq!(f.category[0].as_str(), "Laptops");
        assert_eq!(f.price_max.unwrap().minor_units(), 200_000);
    }

    #[test]
    fn facet_values_come_as_one_string_or_an_array() {
        let r: TextSearchRequest = serde_json::from_value(serde_json::json!({
            "query": "", "brand": ["Kumo", "Acme", "Kumo"], "category": "Mugs"
        }))
        .unwrap();
        let f = r.effective_filters().normalized();
        let brands: Vec<&str> = f.brand.iter().map(|b| b.as_str()).collect();
        assert_eq!(brands, ["Acme", "Kumo"]);
        assert_eq!(f.category.len(), 1);
        let err = serde_json::from_value::<TextSearchRequest>(serde_json::json!({
            "query": "", "brand": ["ok", ""]
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("brand"), "{err}");
    }

    #[test]
    fn too_many_facet_values_name_the_facet() {
        let f = SearchFilters {
            brand: (0..=MAX_FACET_VALUES)
                .map(|i| Brand::parse(format!("B{i}")).unwrap())
                .collect(),
            ..Default::default()
        };
        assert_eq!(f.check_value_counts().unwrap_err().field, "brand");
    }

    #[test]
    fn sort_parses_known_values_and_names_the_field_otherwise() {
        assert_eq!(SortOrder::parse(None).unwrap(), SortOrder::Relevance);
        for s in SortOrder::ALL {
            assert_eq!(SortOrder::parse(Some(s.as_str())).unwrap(), s);
        }
        assert_eq!(
            SortOrder::parse(Some("cheapest")).unwrap_err().field,
            "sort"
        );
    }

    #[test]
    fn empty_price_range_is_rejected() {
        let f = SearchFilters {
            price_min: Some(Price::parse(10).unwrap()),
            price_max: Some(Price::parse(5).unwrap()),
            ..Default::default()
        };
        assert!(f.check().is_err());
    }
}
