//! Building the compact representation in the background (see the module docs): the
//! codec when there is none, k-means lists sized for the catalog, then a short swap under
//! the write lock that lists every live slot (re-encoding those written meanwhile).

use std::sync::Arc;

use super::{
    Ann, VisualIndex,
    ivf::{Ivf, list_count},
    pca::par_chunks,
    quant::Codec,
};

/// Slots read per hold of the read lock, so writers wait briefly.
const CHUNK: usize = 4_096;

impl VisualIndex {
    /// Builds (or rebuilds) the compact representation when the index is past the
    /// threshold. Blocking and CPU-heavy: run it on a blocking thread. Returns false at once
    /// when another build runs (or the index is below the threshold), true after building.
    pub fn build_ann_blocking(&self) -> bool {
        let (trained, dims, covered, live) = {
            let Ok(mut g) = self.inner.write() else {
                return false;
            };
            if g.building || g.live <= self.config.exact_threshold {
                return false;
            }
            g.building = true;
            g.touched.clear();
            (
                // Refit while the full vectors are kept.
                g.ann
                    .as_ref()
                    .filter(|_| !g.keep_full)
                    .map(|a| a.codec.clone()),
                g.dims,
                g.slots.len(),
                g.live,
            )
        };
        let cfg = self.config.ann;
        let codec = match &trained {
            Some(c) => c.clone(),
            None => {
                let sample = self.sample(covered, cfg.sample, |g, slot| {
                    g.full[slot * dims..(slot + 1) * dims].to_vec()
                });
                Arc::new(Codec::train(
                    &sample.concat(),
                    dims,
                    cfg.dims,
                    cfg.scan_dims,
                ))
            }
        };
        let (out, scan) = (codec.out(), codec.scan);
        // Fine codes of every slot, when coming from full vectors.
        let fresh = trained.is_none().then(|| {
            let mut fine = Vec::with_capacity(covered * out);
            for start in (0..covered).step_by(CHUNK) {
                let Ok(g) = self.inner.read() else { break };
                let ids: Vec<usize> = (start..(start + CHUNK).min(covered)).collect();
                let parts = par_chunks(&ids, |ids| {
                    let mut v = vec![0i16; ids.len() * out];
                    for (i, &s) in ids.iter().enumerate() {
                        codec.encode(
                            &g.full[s * dims..(s + 1) * dims],
                            &mut v[i * out..(i + 1) * out],
                        );
                    }
                    v
                });
                parts.into_iter().for_each(|p| fine.extend(p));
            }
            fine
        });
        let fine_of = |g: &super::Inner, slot: usize| -> Vec<i16> {
            match (&fresh, &g.ann) {
                (Some(f), _) => f[slot * out..(slot + 1) * out].to_vec(),
                (None, Some(a)) => a.fine[slot * out..(slot + 1) * out].to_vec(),
                (None, None) => vec![0; out],
            }
        };
        // Lists: k-means on a sample of scan-space points.
        let lists = list_count(live);
        let points = self.sample(covered, cfg.sample.max(lists * 32), |g, slot| {
            let (mut codes, mut point) = (vec![0i8; scan], vec![0f32; scan]);
            codec.scan_codes(&fine_of(g, slot), &mut codes, &mut point);
            point
        });
        let mut ivf = Ivf::train(&points.concat(), scan, lists, 10);
        // Every covered slot's list and scan codes.
        let mut assign = vec![u32::MAX; covered];
        let mut codes = vec![0i8; covered * scan];
        for start in (0..covered).step_by(CHUNK) {
            let Ok(g) = self.inner.read() else { break };
            let ids: Vec<usize> = (start..(start + CHUNK).min(covered)).collect();
            let parts = par_chunks(&ids, |ids| {
                let mut point = vec![0f32; scan];
                let mut c = vec![0i8; ids.len() * scan];
                let mut a = vec![u32::MAX; ids.len()];
                for (i, &s) in ids.iter().enumerate() {
                    if g.slots[s].alive {
                        codec.scan_codes(
                            &fine_of(&g, s),
                            &mut c[i * scan..(i + 1) * scan],
                            &mut point,
                        );
                        a[i] = ivf.nearest(&point) as u32;
                    }
                }
                (a, c)
            });
            let mut at = start;
            for (a, c) in parts {
                assign[at..at + a.len()].copy_from_slice(&a);
                codes[at * scan..(at + a.len()) * scan].copy_from_slice(&c);
                at += a.len();
            }
        }
        // The swap.
        let Ok(mut g) = self.inner.write() else {
            return false;
        };
        let g = &mut *g;
        let mut fine = match fresh {
            Some(f) => f,
            None => g.ann.take().map(|a| a.fine).unwrap_or_default(),
        };
        fine.resize(g.slots.len() * out, 0);
        let mut redo = vec![false; g.slots.len()];
        for &t in &g.touched {
            redo[t as usize] = true;
        }
        redo[covered.min(g.slots.len())..]
            .iter_mut()
            .for_each(|r| *r = true);
        let (mut c, mut point) = (vec![0i8; scan], vec![0f32; scan]);
        let mut counts = vec![0usize; ivf.lists.len()];
        for (slot, s) in g.slots.iter().enumerate() {
            if s.alive && !redo[slot] && assign[slot] != u32::MAX {
                counts[assign[slot] as usize] += 1;
            }
        }
        ivf.reserve(&counts);
        let mut free = Vec::new();
        for slot in 0..g.slots.len() {
            if !g.slots[slot].alive {
                free.push(slot as u32);
                continue;
            }
            if redo[slot] || assign[slot] == u32::MAX {
                if trained.is_none() {
                    codec.encode(
                        &g.full[slot * dims..(slot + 1) * dims],
                        &mut fine[slot * out..(slot + 1) * out],
                    );
                }
                codec.scan_codes(&fine[slot * out..(slot + 1) * out], &mut c, &mut point);
                let list = ivf.nearest(&point);
                ivf.push(list, slot, &c);
            } else {
                ivf.push(
                    assign[slot] as usize,
                    slot,
                    &codes[slot * scan..(slot + 1) * scan],
                );
            }
        }
        if g.live >= cfg.sample {
            g.full = Vec::new();
            g.keep_full = false;
        }
        g.free = free;
        g.dead_listed = 0;
        g.touched = Vec::new();
        g.building = false;
        g.ann = Some(Ann {
            codec,
            fine,
            ivf,
            built_for: g.live,
        });
        true
    }

    /// Up to `n` values `f` makes of live slots below `covered`: one at a pseudo-random
    /// place in each of `n` equal strata (a plain stride could alias with a periodic
    /// structure of the catalog's order).
    fn sample<T: Send>(
        &self,
        covered: usize,
        n: usize,
        f: impl Fn(&super::Inner, usize) -> T + Sync,
    ) -> Vec<T> {
        let Ok(g) = self.inner.read() else {
            return Vec::new();
        };
        let step = (covered / n.max(1)).max(1);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let ids: Vec<usize> = (0..covered)
            .step_by(step)
            .map(|s| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (s + (seed % step as u64) as usize).min(covered - 1)
            })
            .filter(|&s| g.slots[s].alive)
            .take(n)
            .collect();
        par_chunks(&ids, |ids| {
            ids.iter().map(|&s| f(&g, s)).collect::<Vec<T>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }
}
