//! Request and response types of the public API, shared by the origin and the edge.
//!
//! Every field that comes from a client is a newtype with a `parse`/`TryFrom` constructor
//! (parse, don't validate): once a `NewProduct` exists, its SKU, price and currency are
//! known to be well formed, so no handler or query ever re-checks them. serde runs the
//! same constructors, so a malformed body fails with a message that names the field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

mod search;
pub use self::search::*;

/// Largest page or result count a client may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Default page or result count.
pub const DEFAULT_LIMIT: u32 = 20;
/// Deepest offset a search may page to; deeper paging is a scraping pattern, not a shopper.
pub const MAX_OFFSET: u32 = 10_000;
/// Largest serialized size of a product's `attributes` object.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

macro_rules! string_newtype {
    (
        #[doc = $doc:literal]
        $name:ident, $field:literal,
        schema(min_length = $min:expr, max_length = $max:expr, pattern = $pattern:expr),
        $check:expr
    ) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses untrusted input, trimming surrounding whitespace.
            pub fn parse(raw: impl AsRef<str>) -> Result<Self, InvalidInput> {
                let value = raw.as_ref().trim();
                let check: fn(&str) -> Result<(), String> = $check;
                check(value).map_err(|reason| InvalidInput::new($field, reason))?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema::string($doc.trim(), $min, $max, $pattern)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// JSON Schemas of the newtypes, written by hand so they carry the constraints their `parse`
/// constructors enforce (a derive would only say "string" or "integer").
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::{
        KnownFormat, ObjectBuilder, RefOr, SchemaFormat, Type,
        schema::{Schema, SchemaType},
    };

    /// Characters `bounded` refuses: Unicode controls (Cc) other than tab and newline.
    pub(super) const NO_CONTROLS: &str = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$";

    pub(super) fn string(
        description: &str,
        min_length: usize,
        max_length: usize,
        pattern: &str,
    ) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some(description))
            .min_length(Some(min_length))
            .max_length(Some(max_length))
            .pattern(Some(pattern))
            .into()
    }

    pub(super) fn integer(
        description: &str,
        minimum: i64,
        maximum: i64,
        default: Option<i64>,
    ) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some(description))
            .minimum(Some(minimum))
            .maximum(Some(maximum))
            .default(default.map(serde_json::Value::from))
            .into()
    }

    pub(super) fn object(description: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .description(Some(description))
            .into()
    }
}

/// `impl ToSchema` for an integer newtype, with its bounds.
macro_rules! integer_schema {
    ($name:ident, $doc:literal, $min:expr, $max:expr, $default:expr) => {
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema::integer($doc, $min, $max, $default)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

fn bounded(value: &str, min: usize, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n < min {
        return Err(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        });
    }
    if n > max {
        return Err(format!("must be at most {max} characters (got {n})"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

string_newtype!(
    #[doc = "A stock-keeping unit: 1–64 characters of `A–Z a–z 0–9 . _ -`, unique per product."]
    Sku,
    "sku",
    schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9._-]+$"
    ),
    |v| {
        bounded(v, 1, 64)?;
        if v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            Ok(())
        } else {
            Err("may contain only letters, digits, '.', '_' and '-'".to_owned())
        }
    }
);
string_newtype!(
    #[doc = "A product title as shoppers see it: 1–300 characters."]
    Title,
    "title",
    schema(
        min_length = 1,
        max_length = 300,
        pattern = schema::NO_CONTROLS
    ),
    |v| bounded(v, 1, 300)
);
string_newtype!(
    #[doc = "A free-text description, up to 10,000 characters (may be empty)."]
    Description,
    "description",
    schema(
        min_length = 0,
        max_length = 10_000,
        pattern = schema::NO_CONTROLS
    ),
    |v| bounded(v, 0, 10_000)
);
string_newtype!(
    #[doc = "A brand name: 1–100 characters."]
    Brand,
    "brand",
    schema(
        min_length = 1,
        max_length = 100,
        pattern = schema::NO_CONTROLS
    ),
    |v| bounded(v, 1, 100)
);
string_newtype!(
    #[doc = "A category name: 1–100 characters."]
    Category,
    "category",
    schema(
        min_length = 1,
        max_length = 100,
        pattern = schema::NO_CONTROLS
    ),
    |v| bounded(v, 1, 100)
);
string_newtype!(
    #[doc = "An ISO 4217 currency code: three upper-case letters."]
    Currency,
    "currency",
    schema(min_length = 3, max_length = 3, pattern = "^[A-Z]{3}$"),
    |v| {
        if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(())
        } else {
            Err("must be an ISO 4217 code of three upper-case letters, e.g. \"EUR\"".to_owned())
        }
    }
);
string_newtype!(
    #[doc = "A content-addressed image id: the lower-case hex BLAKE3 hash of the original bytes."]
    ImageId,
    "image_id",
    schema(min_length = 64, max_length = 64, pattern = "^[0-9a-f]{64}$"),
    |v| {
        if v.len() == 64
            && v.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(())
        } else {
            Err("must be 64 lower-case hex characters".to_owned())
        }
    }
);

/// A price in minor units (cents), 0 ..= 10^12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Price(i64);

impl Price {
    pub const MAX: i64 = 1_000_000_000_000;

    pub fn parse(minor_units: i64) -> Result<Self, InvalidInput> {
        if minor_units < 0 {
            Err(InvalidInput::new("price", "must not be negative"))
        } else if minor_units > Self::MAX {
            Err(InvalidInput::new(
                "price",
                format!("must be at most {} minor units", Self::MAX),
            ))
        } else {
            Ok(Self(minor_units))
        }
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Price {
    type Error = InvalidInput;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Price> for i64 {
    fn from(value: Price) -> Self {
        value.0
    }
}

integer_schema!(
    Price,
    "A price in minor units (cents).",
    0,
    Price::MAX,
    None
);

/// Free-form product attributes: a JSON object of bounded size.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
pub struct Attributes(serde_json::Map<String, serde_json::Value>);

impl Attributes {
    pub fn parse(value: serde_json::Value) -> Result<Self, InvalidInput> {
        match value {
            serde_json::Value::Object(map) => {
                let size = serde_json::to_vec(&map)
                    .map(|v| v.len())
                    .unwrap_or(usize::MAX);
                if size > MAX_ATTRIBUTES_BYTES {
                    Err(InvalidInput::new(
                        "attributes",
                        format!(
                            "must serialize to at most {MAX_ATTRIBUTES_BYTES} bytes (got {size})"
                        ),
                    ))
                } else {
                    Ok(Self(map))
                }
            }
            serde_json::Value::Null => Ok(Self::default()),
            _ => Err(InvalidInput::new("attributes", "must be a JSON object")),
        }
    }

    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

impl TryFrom<serde_json::Value> for Attributes {
    type Error = InvalidInput;
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Attributes> for serde_json::Value {
    fn from(value: Attributes) -> Self {
        serde_json::Value::Object(value.0)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Attributes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::object("Free-form product attributes: a JSON object of at most 16 KiB serialized.")
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Attributes {}

fn default_currency() -> Currency {
    Currency("USD".to_owned())
}

/// A product as a client submits it (`POST`, `PUT`, bulk and import rows).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub sku: Sku,
    pub title: Title,
    #[serde(default = "empty_description")]
    pub description: Description,
    pub brand: Brand,
    pub category: Category,
    pub price: Price,
    #[serde(default = "default_currency")]
    pub currency: Currency,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub image_id: Option<ImageId>,
}

fn empty_description() -> Description {
    Description(String::new())
}

pub use crate::product_images::{ImageCandidate, ImagePlaceholder, ProductImages};

/// A stored product, as every endpoint returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub title: String,
    pub description: String,
    pub brand: String,
    pub category: String,
    pub price: i64,
    pub currency: String,
    pub attributes: serde_json::Value,
    pub image_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Ready-made thumbnail URLs for `image_id` (signed by the origin, which alone holds the
    /// keys), filled in by the endpoints that return products; absent without an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ProductImages>,
}

/// One page of `GET /api/products`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductPage {
    pub products: Vec<Product>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A bounded result count (`limit`), 1 ..= [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Limit(u32);

impl Limit {
    pub fn parse(value: i64) -> Result<Self, InvalidInput> {
        if (1..=i64::from(MAX_LIMIT)).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(InvalidInput::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT} (got {value})"),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(DEFAULT_LIMIT)
    }
}

impl TryFrom<i64> for Limit {
    type Error = InvalidInput;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Limit> for u32 {
    fn from(value: Limit) -> Self {
        value.0
    }
}

integer_schema!(
    Limit,
    "How many results to return.",
    1,
    MAX_LIMIT as i64,
    Some(DEFAULT_LIMIT as i64)
);

/// A bounded search offset, 0 ..= [`MAX_OFFSET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Offset(u32);

impl Offset {
    pub fn parse(value: i64) -> Result<Self, InvalidInput> {
        if (0..=i64::from(MAX_OFFSET)).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(InvalidInput::new(
                "offset",
                format!("must be between 0 and {MAX_OFFSET} (got {value})"),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Offset {
    type Error = InvalidInput;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Offset> for u32 {
    fn from(value: Offset) -> Self {
        value.0
    }
}

integer_schema!(
    Offset,
    "How many results to skip.",
    0,
    MAX_OFFSET as i64,
    Some(0)
);

#[cfg(test)]
mod tests {
    use super::*;

    fn product_json() -> serde_json::Value {
        serde_json::json!({
            "sku": "LAP-001", "title": "Ultralight Laptop", "brand": "Acme",
            "category": "Laptops", "price": 129900, "currency": "EUR"
        })
    }

    #[test]
    fn parses_a_minimal_product_with_defaults() {
        let p: NewProduct = serde_json::from_value(product_json()).unwrap();
        assert_eq!(p.sku.as_str(), "LAP-001");
        assert_eq!(p.price.minor_units(), 129_900);
        assert_eq!(p.description.as_str(), "");
        assert!(p.attributes.as_map().is_empty());
        assert_eq!(p.image_id, None);
    }

    #[test]
    fn rejects_negative_price_naming_the_field() {
        let mut v = product_json();
        v["price"] = serde_json::json!(-5);
        let err = serde_json::from_value::<NewProduct>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("price"), "{err}");
    }

    #[test]
    fn rejects_unknown_fields() {
        let mut v = product_json();
        v["colour"] = serde_json::json!("red");
        let err = serde_json::from_value::<NewProduct>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn rejects_bad_sku_currency_and_attributes() {
        assert!(Sku::parse("has space").is_err());
        assert!(Sku::parse("").is_err());
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
        assert!(Attributes::parse(serde_json::json!([1, 2])).is_err());
        let big = "x".repeat(MAX_ATTRIBUTES_BYTES);
        assert!(Attributes::parse(serde_json::json!({ "k": big })).is_err());
    }

    #[test]
    fn limit_and_offset_are_bounded() {
        assert!(Limit::parse(0).is_err());
        assert!(Limit::parse(101).is_err());
        assert_eq!(Limit::parse(100).unwrap().get(), 100);
        assert!(Offset::parse(-1).is_err());
        assert!(Offset::parse(i64::from(MAX_OFFSET) + 1).is_err());
    }
}
