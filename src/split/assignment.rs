//! Which shard each owner lives in: a stable hash of the owner's name modulo the blueprint's
//! explicit shard count. It depends on nothing but the name and the count, so adding, removing or
//! reordering owners never moves anyone else; only a change of the count moves owners.

use std::collections::BTreeMap;

use crate::lower::stable_hash;

/// The shard of one owner, in `0..shards`.
pub fn shard_of(owner: &str, shards: u32) -> u32 {
    (stable_hash(owner) % u64::from(shards.max(1))) as u32
}

/// The owners of every non-empty shard, each list sorted (so blueprint order never matters).
pub fn assign<'a>(
    owners: impl IntoIterator<Item = &'a str>,
    shards: u32,
) -> BTreeMap<u32, Vec<String>> {
    let mut out: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for o in owners {
        out.entry(shard_of(o, shards))
            .or_default()
            .push(o.to_string());
    }
    for list in out.values_mut() {
        list.sort();
    }
    out
}

/// The shard's label, zero-padded to the width of the largest shard number (at least 2):
/// `07` of 64, `007` of 1000. The width depends only on the count, never on the owners.
pub fn label(shard: u32, shards: u32) -> String {
    let width = (shards.max(1) - 1).to_string().len().max(2);
    format!("{shard:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_or_removing_an_owner_moves_nobody_else() {
        let names: Vec<String> = (0..500).map(|i| format!("user{i}")).collect();
        let before = assign(names.iter().map(String::as_str), 64);
        let mut changed: Vec<String> = names.clone();
        changed.insert(250, "newcomer".into());
        changed.retain(|n| n != "user17");
        let after = assign(changed.iter().map(String::as_str), 64);
        for n in names.iter().filter(|n| *n != "user17") {
            let s = shard_of(n, 64);
            assert!(before[&s].contains(n) && after[&s].contains(n), "{n} moved");
        }
        let mut reversed = names.clone();
        reversed.reverse();
        assert_eq!(before, assign(reversed.iter().map(String::as_str), 64));
    }

    #[test]
    fn owners_spread_over_the_shards() {
        let names: Vec<String> = (0..1000).map(|i| format!("ds-{i:04}")).collect();
        let shards = assign(names.iter().map(String::as_str), 64);
        let largest = shards.values().map(Vec::len).max().unwrap();
        // 1000/64 = 15.6 on average; a hash that clumped would overflow a shard's quota early.
        assert_eq!(shards.len(), 64);
        assert!(largest <= 30, "largest shard has {largest} owners");
    }

    #[test]
    fn labels_have_a_width_fixed_by_the_count() {
        assert_eq!(label(7, 64), "07");
        assert_eq!(label(7, 1000), "007");
        assert_eq!(label(0, 1), "00");
    }
}
