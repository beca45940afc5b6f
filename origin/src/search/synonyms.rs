//! Search synonyms: what a merchandiser says means the same, applied when a query is built
//! (query expansion), so changing them needs no re-index.
//!
//! Two kinds of rule:
//! - **multi-way** `{"terms": ["sneakers", "trainers", "running shoes"]}`: a query for any
//!   term also finds the others;
//! - **one-way** `{"from": "notebook", "to": ["laptop"]}`: a query for `notebook` also
//!   finds laptops, not the other way round.
//!
//! Terms are matched on the index's analysed form (lower case, folded, stemmed), so
//! "Trainer" matches the term "trainers". Multi-word terms ("running shoes") match as
//! phrases. Expansion is one step, never transitive: a rule's alternatives are not expanded
//! again, so no set can make a query grow without end. To keep the rules meaning what they
//! say, sets that would chain are refused (a term in two multi-way sets, one-way rules that
//! form a cycle), and so are rules beyond the bounds below.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vitrine_common::error::InvalidInput;

/// Most rules in the whole set.
pub const MAX_RULES: usize = 1000;
/// Most terms in one rule (a multi-way set's terms; a one-way rule's `from` plus `to`).
pub const MAX_TERMS_PER_RULE: usize = 32;
/// Longest term, in characters.
pub const MAX_TERM_CHARS: usize = 64;
/// Most words in one term.
pub const MAX_WORDS_PER_TERM: usize = 4;
/// Most alternatives one term may expand to, all its rules together.
pub const MAX_ALTERNATIVES: usize = 32;

/// One rule as the API takes and returns it: either `terms` (multi-way) or `from` and `to`
/// (one-way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SynonymRule {
    /// A multi-way set: every term finds every other (2 to 32 terms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<Vec<String>>,
    /// A one-way rule: a query for `from` also finds `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// What `from` also finds (1 to 31 terms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
}

/// The body of `PUT /api/search/synonyms`: the whole set, replacing the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SynonymsBody {
    pub synonyms: Vec<SynonymRule>,
}

/// What `GET`/`PUT /api/search/synonyms` answer: the set in force and its version.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SynonymsDocument {
    pub synonyms: Vec<SynonymRule>,
    /// Incremented by every `PUT`; 0 before the first.
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A term in its analysed form: the index's tokens of it.
pub type Phrase = Vec<String>;

/// The synonyms compiled for query building.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// The rules as given (trimmed), for `GET`.
    pub rules: Vec<SynonymRule>,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
    /// Analysed term → the analysed alternatives it expands to.
    map: HashMap<Phrase, Vec<Phrase>>,
    /// Words in the longest term (how far a match is tried from each query position).
    longest: usize,
}

fn check_term(
    raw: &str,
    field: &'static str,
    analyse: &dyn Fn(&str) -> Phrase,
) -> Result<Phrase, InvalidInput> {
    let term = raw.trim();
    let chars = term.chars().count();
    if chars > MAX_TERM_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("a term is at most {MAX_TERM_CHARS} characters (got {chars})"),
        ));
    }
    if term.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            "a term must not contain control characters",
        ));
    }
    let phrase = analyse(term);
    if phrase.is_empty() {
        return Err(InvalidInput::new(
            field,
            format!("{term:?} has no searchable word"),
        ));
    }
    if phrase.len() > MAX_WORDS_PER_TERM {
        return Err(InvalidInput::new(
            field,
            format!(
                "a term is at most {MAX_WORDS_PER_TERM} words ({term:?} has {})",
                phrase.len()
            ),
        ));
    }
    Ok(phrase)
}

fn trimmed(terms: &[String]) -> Vec<String> {
    terms.iter().map(|t| t.trim().to_owned()).collect()
}

/// The rules checked so far, compiled.
struct Builder<'a> {
    analyse: &'a dyn Fn(&str) -> Phrase,
    map: HashMap<Phrase, BTreeSet<Phrase>>,
    /// Each multi-way term and the rule it is in.
    in_set: HashMap<Phrase, usize>,
    /// The one-way rules' edges, for the loop check.
    one_way: HashMap<Phrase, Vec<Phrase>>,
    kept: Vec<SynonymRule>,
}

impl Builder<'_> {
    fn add_set(&mut self, i: usize, terms: &[String]) -> Result<(), InvalidInput> {
        if terms.len() > MAX_TERMS_PER_RULE {
            return Err(InvalidInput::new(
                "synonyms.terms",
                format!(
                    "rule {i}: at most {MAX_TERMS_PER_RULE} terms (got {})",
                    terms.len()
                ),
            ));
        }
        let mut phrases: Vec<Phrase> = Vec::with_capacity(terms.len());
        for t in terms {
            let p = check_term(t, "synonyms.terms", self.analyse)?;
            if !phrases.contains(&p) {
                phrases.push(p);
            }
        }
        if phrases.len() < 2 {
            return Err(InvalidInput::new(
                "synonyms.terms",
                format!("rule {i}: a set needs at least two different terms"),
            ));
        }
        for p in &phrases {
            if let Some(other) = self.in_set.insert(p.clone(), i) {
                return Err(InvalidInput::new(
                    "synonyms.terms",
                    format!(
                        "rule {i}: {:?} is already in rule {other}; merge the two sets (a term in two sets would chain them)",
                        p.join(" ")
                    ),
                ));
            }
            let alternatives = self.map.entry(p.clone()).or_default();
            alternatives.extend(phrases.iter().filter(|q| *q != p).cloned());
        }
        self.kept.push(SynonymRule {
            terms: Some(trimmed(terms)),
            from: None,
            to: None,
        });
        Ok(())
    }

    fn add_one_way(&mut self, i: usize, from: &str, to: &[String]) -> Result<(), InvalidInput> {
        if to.is_empty() || to.len() + 1 > MAX_TERMS_PER_RULE {
            return Err(InvalidInput::new(
                "synonyms.to",
                format!(
                    "rule {i}: 1 to {} terms (got {})",
                    MAX_TERMS_PER_RULE - 1,
                    to.len()
                ),
            ));
        }
        let source = check_term(from, "synonyms.from", self.analyse)?;
        let mut targets = Vec::with_capacity(to.len());
        for t in to {
            let p = check_term(t, "synonyms.to", self.analyse)?;
            if p == source {
                return Err(InvalidInput::new(
                    "synonyms.to",
                    format!("rule {i}: {:?} maps to itself", from.trim()),
                ));
            }
            targets.push(p);
        }
        self.one_way
            .entry(source.clone())
            .or_default()
            .extend(targets.iter().cloned());
        self.map.entry(source).or_default().extend(targets);
        self.kept.push(SynonymRule {
            terms: None,
            from: Some(from.trim().to_owned()),
            to: Some(trimmed(to)),
        });
        Ok(())
    }

    fn finish(self) -> Result<Synonyms, InvalidInput> {
        if let Some(cycle) = find_cycle(&self.one_way) {
            return Err(InvalidInput::new(
                "synonyms.from",
                format!(
                    "one-way rules loop through {:?}; use a multi-way set for terms that mean each other",
                    cycle.join(" ")
                ),
            ));
        }
        if let Some((term, alts)) = self
            .map
            .iter()
            .find(|(_, alts)| alts.len() > MAX_ALTERNATIVES)
        {
            return Err(InvalidInput::new(
                "synonyms",
                format!(
                    "{:?} expands to {} alternatives; the limit is {MAX_ALTERNATIVES}",
                    term.join(" "),
                    alts.len()
                ),
            ));
        }
        let longest = self.map.keys().map(Vec::len).max().unwrap_or(0);
        Ok(Synonyms {
            rules: self.kept,
            version: 0,
            updated_at: None,
            map: self
                .map
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            longest,
        })
    }
}

impl Synonyms {
    /// Checks and compiles `rules`; `analyse` is the index's analysis (tokens of a text).
    pub fn compile(
        rules: &[SynonymRule],
        analyse: &dyn Fn(&str) -> Phrase,
    ) -> Result<Synonyms, InvalidInput> {
        if rules.len() > MAX_RULES {
            return Err(InvalidInput::new(
                "synonyms",
                format!("at most {MAX_RULES} rules (got {})", rules.len()),
            ));
        }
        let mut b = Builder {
            analyse,
            map: HashMap::new(),
            in_set: HashMap::new(),
            one_way: HashMap::new(),
            kept: Vec::with_capacity(rules.len()),
        };
        for (i, rule) in rules.iter().enumerate() {
            match (&rule.terms, &rule.from, &rule.to) {
                (Some(terms), None, None) => b.add_set(i, terms)?,
                (None, Some(from), Some(to)) => b.add_one_way(i, from, to)?,
                _ => {
                    return Err(InvalidInput::new(
                        "synonyms",
                        format!("rule {i}: give either `terms`, or `from` and `to`"),
                    ));
                }
            }
        }
        b.finish()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The words of every alternative `tokens` (a query's analysed words) expand to, found
    /// as the query builder finds them (longest term first, left to right).
    pub fn expansion_words(&self, tokens: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            match self.match_at(&tokens[i..]) {
                Some((len, alternatives)) => {
                    out.extend(alternatives.iter().flatten().cloned());
                    i += len;
                }
                None => i += 1,
            }
        }
        out
    }

    /// The longest rule term matching `tokens` from its start: its length and alternatives.
    pub fn match_at(&self, tokens: &[String]) -> Option<(usize, &[Phrase])> {
        for len in (1..=self.longest.min(tokens.len())).rev() {
            if let Some(alternatives) = self.map.get(&tokens[..len]) {
                return Some((len, alternatives));
            }
        }
        None
    }
}

/// A term on a cycle of one-way rules, if there is one (depth-first search).
fn find_cycle(edges: &HashMap<Phrase, Vec<Phrase>>) -> Option<Phrase> {
    fn visit<'a>(
        node: &'a Phrase,
        edges: &'a HashMap<Phrase, Vec<Phrase>>,
        on_path: &mut HashSet<&'a Phrase>,
        done: &mut HashSet<&'a Phrase>,
    ) -> Option<Phrase> {
        if on_path.contains(node) {
            return Some(node.clone());
        }
        if !done.insert(node) {
            return None;
        }
        on_path.insert(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, on_path, done) {
                return Some(found);
            }
        }
        on_path.remove(node);
        None
    }
    let mut done = HashSet::new();
    for node in edges.keys() {
        let mut on_path = HashSet::new();
        if let Some(found) = visit(node, edges, &mut on_path, &mut done) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> Phrase {
        text.split_whitespace()
            .map(|w| w.to_lowercase().trim_end_matches('s').to_owned())
            .collect()
    }

    fn set(terms: &[&str]) -> SynonymRule {
        SynonymRule {
            terms: Some(terms.iter().map(|t| (*t).to_owned()).collect()),
            from: None,
            to: None,
        }
    }

    fn one_way(from: &str, to: &[&str]) -> SynonymRule {
        SynonymRule {
            terms: None,
            from: Some(from.to_owned()),
            to: Some(to.iter().map(|t| (*t).to_owned()).collect()),
        }
    }

    fn words(s: &str) -> Vec<String> {
        analyse(s)
    }

    #[test]
    fn multi_way_sets_expand_every_term_and_one_way_rules_only_forward() {
        let s = Synonyms::compile(
            &[
                set(&["sneakers", "trainers", "running shoes"]),
                one_way("notebook", &["laptop"]),
            ],
            &analyse,
        )
        .unwrap();
        let (len, alts) = s.match_at(&words("running shoes red")).unwrap();
        assert_eq!(len, 2);
        assert_eq!(alts.len(), 2);
        assert!(alts.contains(&words("trainer")));
        assert_eq!(s.match_at(&words("notebook")).unwrap().1, [words("laptop")]);
        assert!(s.match_at(&words("laptop")).is_none());
        assert!(s.match_at(&words("running")).is_none());
    }

    #[test]
    fn loops_overlaps_and_oversized_sets_are_refused_naming_the_field() {
        let cycle = [
            one_way("a1", &["b1"]),
            one_way("b1", &["c1"]),
            one_way("c1", &["a1"]),
        ];
        assert_eq!(
            Synonyms::compile(&cycle, &analyse).unwrap_err().field,
            "synonyms.from"
        );
        let self_loop = [one_way("laptop", &["laptops"])];
        assert_eq!(
            Synonyms::compile(&self_loop, &analyse).unwrap_err().field,
            "synonyms.to"
        );
        let overlap = [set(&["a1", "b1"]), set(&["b1", "c1"])];
        assert_eq!(
            Synonyms::compile(&overlap, &analyse).unwrap_err().field,
            "synonyms.terms"
        );
        let many: Vec<String> = (0..=MAX_TERMS_PER_RULE).map(|i| format!("t{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            Synonyms::compile(&[set(&many)], &analyse)
                .unwrap_err()
                .field,
            "synonyms.terms"
        );
        let long = "x".repeat(MAX_TERM_CHARS + 1);
        assert_eq!(
            Synonyms::compile(&[set(&[&long, "y1"])], &analyse)
                .unwrap_err()
                .field,
            "synonyms.terms"
        );
        let both = SynonymRule {
            from: Some("a1".into()),
            ..set(&["a1", "b1"])
        };
        assert_eq!(
            Synonyms::compile(&[both], &analyse).unwrap_err().field,
            "synonyms"
        );
        let rules: Vec<SynonymRule> = (0..=MAX_RULES)
            .map(|i| one_way(&format!("f{i}"), &["g1"]))
            .collect();
        assert_eq!(
            Synonyms::compile(&rules, &analyse).unwrap_err().field,
            "synonyms"
        );
        // One term fed by many one-way rules stays within MAX_ALTERNATIVES.
        let fan: Vec<SynonymRule> = (0..=MAX_ALTERNATIVES)
            .map(|i| one_way("hub", &[&format!("v{i}")]))
            .collect();
        assert_eq!(
            Synonyms::compile(&fan, &analyse).unwrap_err().field,
            "synonyms"
        );
        assert!(
            Synonyms::compile(&[one_way("a1", &["b1"]), one_way("b1", &["c1"])], &analyse).is_ok()
        );
    }
}
