//! Gradient-boosted decision trees for binary log-loss, histogram-based (the LightGBM/XGBoost `hist`
//! algorithm), hand-written: a few hundred lines compile in seconds, where the crates DESIGN.md lists
//! either lack learned missing directions (`gbdt`) or pull a large dependency tree.
//!
//! * Each column is cut into at most 255 bins at training-data quantiles (midpoints between distinct
//!   values when there are fewer); `NaN` goes to a separate missing bin. A split "bin ≤ b" is the same as
//!   "value ≤ threshold" on raw values, so prediction needs no binning.
//! * Second-order boosting: gradient `p − y`, Hessian `p(1 − p)` (times row weights); leaf value
//!   `−G/(H + λ)` times the learning rate; split gain `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)`; children
//!   need Hessian ≥ `min_child_hessian`. At every split the missing values are tried on both sides and the
//!   better one becomes the learned default direction.
//! * Depth-limited trees, row subsampling per tree (seeded, so fits are reproducible), histogram
//!   subtraction (the larger child's histogram = parent − smaller child's).
//!
//! Drivers are Saabas path contributions: every node keeps the value it would predict as a leaf; walking
//! a row's path, each split adds `child value − node value` to its feature. The bias (base score + the
//! roots' values) plus all contributions equals the model's logit exactly, by telescoping.
use crate::data::Matrix;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

const MISSING_BIN: u8 = 255;
const HIST: usize = 256;
const LEAF: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
pub struct GbtParams {
    pub n_trees: usize,
    pub max_depth: usize,
    pub learning_rate: f64,
    /// Share of rows drawn (without replacement, per tree).
    pub subsample: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    pub min_child_hessian: f64,
    /// At most 255.
    pub max_bins: usize,
    pub seed: u64,
}

impl Default for GbtParams {
    fn default() -> Self {
        GbtParams { n_trees: 300, max_depth: 3, learning_rate: 0.05, subsample: 0.8, lambda: 1.0, min_child_hessian: 2.0, max_bins: 255, seed: 1 }
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    feature: u32,
    /// Training bin threshold (rows with bin ≤ this go left).
    bin: u8,
    threshold: f64,
    default_left: bool,
    left: u32,
    right: u32,
    /// What this node predicts as a leaf (learning rate applied).
    value: f64,
}

#[derive(Clone, Debug)]
pub struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    #[inline]
    fn go_left(n: &Node, v: f64) -> bool {
        if v.is_nan() {
            n.default_left
        } else {
            v <= n.threshold
        }
    }
    fn leaf_value(&self, x: &Matrix, row: usize) -> f64 {
        let mut k = 0usize;
        loop {
            let n = &self.nodes[k];
            if n.left == LEAF {
                return n.value;
            }
            k = if Tree::go_left(n, x.get(row, n.feature as usize)) { n.left } else { n.right } as usize;
        }
    }
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }
}

#[derive(Clone, Debug)]
pub struct Gbt {
    /// Logit of the weighted training base rate.
    pub base: f64,
    pub trees: Vec<Tree>,
    pub n_features: usize,
}

/// Column-major bins plus the cut points of each column.
struct Binned {
    n: usize,
    bins: Vec<u8>,
    edges: Vec<Vec<f64>>,
}

fn cut_points(col: &[f64], max_bins: usize) -> Vec<f64> {
    let mut v: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    let mut distinct = v.clone();
    distinct.dedup();
    let max_bins = max_bins.clamp(2, 255);
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    }
    let mut edges: Vec<f64> = Vec::with_capacity(max_bins - 1);
    for q in 1..max_bins {
        let e = v[q * v.len() / max_bins];
        if edges.last().is_none_or(|&l| e > l) && e < *v.last().unwrap() {
            edges.push(e);
        }
    }
    edges
}

fn bin_matrix(x: &Matrix, edges: &[Vec<f64>]) -> Binned {
    let n = x.n_rows;
    let mut bins = vec![0u8; n * edges.len()];
    bins.par_chunks_mut(n.max(1)).zip(edges.par_iter()).enumerate().for_each(|(j, (dst, e))| {
        for (d, &v) in dst.iter_mut().zip(x.col(j)) {
            *d = if v.is_nan() { MISSING_BIN } else { e.partition_point(|&c| c < v) as u8 };
        }
    });
    Binned { n, bins, edges: edges.to_vec() }
}

#[derive(Clone, Copy, Default)]
struct Split {
    gain: f64,
    feature: u32,
    bin: u8,
    default_left: bool,
}

#[inline]
fn score(g: f64, h: f64, lambda: f64) -> f64 {
    g * g / (h + lambda)
}

fn best_split(hist: &[(f64, f64)], n_features: usize, g: f64, h: f64, p: &GbtParams) -> Option<Split> {
    let parent = score(g, h, p.lambda);
    let mut best = Split::default();
    for f in 0..n_features {
        let hf = &hist[f * HIST..(f + 1) * HIST];
        let (gm, hm) = hf[MISSING_BIN as usize];
        let (mut gl, mut hl) = (0.0, 0.0);
        for (b, &(gb, hb)) in hf[..MISSING_BIN as usize].iter().enumerate() {
            gl += gb;
            hl += hb;
            if hb == 0.0 && gb == 0.0 {
                continue; // same partition as the previous bin
            }
            for default_left in [false, true] {
                let (gll, hll) = if default_left { (gl + gm, hl + hm) } else { (gl, hl) };
                let (gr, hr) = (g - gll, h - hll);
                if hll < p.min_child_hessian || hr < p.min_child_hessian {
                    continue;
                }
                let gain = score(gll, hll, p.lambda) + score(gr, hr, p.lambda) - parent;
                if gain > best.gain + 1e-12 {
                    best = Split { gain, feature: f as u32, bin: b as u8, default_left };
                }
            }
        }
    }
    (best.gain > 1e-12).then_some(best)
}

fn build_hist(bins: &Binned, rows: &[u32], grad: &[f64], hess: &[f64], out: &mut [(f64, f64)]) {
    let n = bins.n;
    out.par_chunks_mut(HIST).enumerate().for_each(|(f, h)| {
        h.fill((0.0, 0.0));
        let col = &bins.bins[f * n..(f + 1) * n];
        for &r in rows {
            let r = r as usize;
            let e = &mut h[col[r] as usize];
            e.0 += grad[r];
            e.1 += hess[r];
        }
    });
}

impl Gbt {
    /// Fits on every row of `x` (missing values as `NaN`).
    pub fn fit(x: &Matrix, y: &[bool], weights: Option<&[f64]>, p: &GbtParams) -> Gbt {
        let (n, k) = (x.n_rows, x.n_cols());
        assert_eq!(y.len(), n);
        let w = |i: usize| weights.map(|w| w[i]).unwrap_or(1.0);
        let edges: Vec<Vec<f64>> = (0..k).into_par_iter().map(|j| cut_points(x.col(j), p.max_bins)).collect();
        let binned = bin_matrix(x, &edges);
        let wsum: f64 = (0..n).map(w).sum();
        let ysum: f64 = (0..n).filter(|&i| y[i]).map(w).sum();
        let rate = if wsum > 0.0 { (ysum / wsum).clamp(1e-6, 1.0 - 1e-6) } else { 0.5 };
        let base = (rate / (1.0 - rate)).ln();
        let mut f = vec![base; n];
        let mut grad = vec![0.0; n];
        let mut hess = vec![0.0; n];
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(p.seed);
        let mut rows: Vec<u32> = Vec::with_capacity(n);
        let mut trees = Vec::with_capacity(p.n_trees);
        // histograms: one per depth level on the current path is enough for depth-first growth, but
        // keeping one per open node is simpler and small (features × 256 × 16 bytes each).
        for _ in 0..p.n_trees {
            for i in 0..n {
                let pi = crate::logistic::sigmoid(f[i]);
                let wi = w(i);
                grad[i] = wi * (pi - if y[i] { 1.0 } else { 0.0 });
                hess[i] = wi * pi * (1.0 - pi);
            }
            rows.clear();
            if p.subsample >= 1.0 {
                rows.extend(0..n as u32);
            } else {
                rows.extend((0..n as u32).filter(|_| rng.random::<f64>() < p.subsample));
            }
            let tree = grow(&binned, &mut rows, &grad, &hess, p, k);
            for (i, fi) in f.iter_mut().enumerate() {
                *fi += leaf_by_bins(&tree, &binned, i);
            }
            trees.push(tree);
        }
        Gbt { base, trees, n_features: k }
    }

    pub fn logits(&self, x: &Matrix) -> Vec<f64> {
        (0..x.n_rows).into_par_iter().map(|i| self.base + self.trees.iter().map(|t| t.leaf_value(x, i)).sum::<f64>()).collect()
    }

    /// Saabas contributions of row `row` per column into `out` (zeroed first); returns the bias so that
    /// `bias + Σ out = logit`.
    pub fn contributions(&self, x: &Matrix, row: usize, out: &mut [f64]) -> f64 {
        out.fill(0.0);
        let mut bias = self.base;
        for t in &self.trees {
            let mut k = 0usize;
            bias += t.nodes[0].value;
            loop {
                let n = &t.nodes[k];
                if n.left == LEAF {
                    break;
                }
                let next = if Tree::go_left(n, x.get(row, n.feature as usize)) { n.left } else { n.right } as usize;
                out[n.feature as usize] += t.nodes[next].value - n.value;
                k = next;
            }
        }
        bias
    }
}

fn leaf_by_bins(t: &Tree, b: &Binned, row: usize) -> f64 {
    let mut k = 0usize;
    loop {
        let n = &t.nodes[k];
        if n.left == LEAF {
            return n.value;
        }
        let bin = b.bins[n.feature as usize * b.n + row];
        let left = if bin == MISSING_BIN { n.default_left } else { bin <= n.bin };
        k = if left { n.left } else { n.right } as usize;
    }
}

fn grow(b: &Binned, rows: &mut [u32], grad: &[f64], hess: &[f64], p: &GbtParams, k: usize) -> Tree {
    struct Open {
        node: usize,
        lo: usize,
        hi: usize,
        depth: usize,
        g: f64,
        h: f64,
        hist: Vec<(f64, f64)>,
    }
    let leaf_value = |g: f64, h: f64| -p.learning_rate * g / (h + p.lambda);
    let (g, h) = rows.iter().fold((0.0, 0.0), |(g, h), &r| (g + grad[r as usize], h + hess[r as usize]));
    let mut nodes = vec![Node { feature: 0, bin: 0, threshold: 0.0, default_left: false, left: LEAF, right: LEAF, value: leaf_value(g, h) }];
    let mut hist = vec![(0.0, 0.0); k * HIST];
    build_hist(b, rows, grad, hess, &mut hist);
    let mut stack = vec![Open { node: 0, lo: 0, hi: rows.len(), depth: 0, g, h, hist }];
    while let Some(o) = stack.pop() {
        if o.depth >= p.max_depth {
            continue;
        }
        let Some(s) = best_split(&o.hist, k, o.g, o.h, p) else { continue };
        // partition rows[lo..hi] in place: left first
        let col = &b.bins[s.feature as usize * b.n..(s.feature as usize + 1) * b.n];
        let goes_left = |r: u32| {
            let bin = col[r as usize];
            if bin == MISSING_BIN {
                s.default_left
            } else {
                bin <= s.bin
            }
        };
        let seg = &mut rows[o.lo..o.hi];
        let mut mid = 0;
        for i in 0..seg.len() {
            if goes_left(seg[i]) {
                seg.swap(i, mid);
                mid += 1;
            }
        }
        let mid = o.lo + mid;
        let (gl, hl) = rows[o.lo..mid].iter().fold((0.0, 0.0), |(g, h), &r| (g + grad[r as usize], h + hess[r as usize]));
        let (gr, hr) = (o.g - gl, o.h - hl);
        let threshold = b.edges[s.feature as usize].get(s.bin as usize).copied().unwrap_or(f64::INFINITY);
        let li = nodes.len();
        nodes.push(Node { feature: 0, bin: 0, threshold: 0.0, default_left: false, left: LEAF, right: LEAF, value: leaf_value(gl, hl) });
        nodes.push(Node { feature: 0, bin: 0, threshold: 0.0, default_left: false, left: LEAF, right: LEAF, value: leaf_value(gr, hr) });
        let parent = &mut nodes[o.node];
        parent.feature = s.feature;
        parent.bin = s.bin;
        parent.threshold = threshold;
        parent.default_left = s.default_left;
        parent.left = li as u32;
        parent.right = li as u32 + 1;
        if o.depth + 1 >= p.max_depth {
            continue; // children are leaves: no histograms needed
        }
        // histogram of the smaller child, the other by subtraction
        let left_small = mid - o.lo <= o.hi - mid;
        let mut small = vec![(0.0, 0.0); k * HIST];
        let small_rows = if left_small { &rows[o.lo..mid] } else { &rows[mid..o.hi] };
        build_hist(b, small_rows, grad, hess, &mut small);
        let mut large = o.hist;
        for (l, s) in large.iter_mut().zip(&small) {
            l.0 -= s.0;
            l.1 -= s.1;
        }
        let (hl_hist, hr_hist) = if left_small { (small, large) } else { (large, small) };
        stack.push(Open { node: li, lo: o.lo, hi: mid, depth: o.depth + 1, g: gl, h: hl, hist: hl_hist });
        stack.push(Open { node: li + 1, lo: mid, hi: o.hi, depth: o.depth + 1, g: gr, h: hr, hist: hr_hist });
    }
    Tree { nodes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(cols: &[Vec<f64>]) -> Matrix {
        let n = cols[0].len();
        Matrix { n_rows: n, names: (0..cols.len()).map(|j| format!("x{j}")).collect(), source: (0..cols.len() as u32).collect(), data: cols.concat() }
    }

    #[test]
    fn learns_a_threshold_and_the_missing_direction() {
        // churn iff x0 > 5 or x0 missing; x1 is noise
        let n = 400;
        let x0: Vec<f64> = (0..n).map(|i| if i % 10 == 0 { f64::NAN } else { (i % 11) as f64 }).collect();
        let x1: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64).collect();
        let y: Vec<bool> = x0.iter().map(|&v| v.is_nan() || v > 5.0).collect();
        let x = matrix(&[x0, x1]);
        let m = Gbt::fit(&x, &y, None, &GbtParams { n_trees: 50, learning_rate: 0.3, subsample: 1.0, ..Default::default() });
        let l = m.logits(&x);
        for i in 0..n {
            assert_eq!(l[i] > 0.0, y[i], "row {i}: logit {}", l[i]);
        }
        // the first split is on x0 at 5.5 (midpoint between 5 and 6), missing to the churn side
        let root = &m.trees[0].nodes[0];
        assert_eq!(root.feature, 0);
        assert_eq!(root.threshold, 5.5);
        assert!(!root.default_left);
    }

    #[test]
    fn contributions_sum_to_the_logit() {
        let n = 300;
        let x0: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
        let x1: Vec<f64> = (0..n).map(|i| if i % 7 == 0 { f64::NAN } else { ((i * 53) % 17) as f64 }).collect();
        let y: Vec<bool> = (0..n).map(|i| (x0[i] + x1[i].max(0.0) * 0.3 + ((i * 13) % 5) as f64) > 8.0).collect();
        let x = matrix(&[x0, x1]);
        let m = Gbt::fit(&x, &y, None, &GbtParams { n_trees: 40, ..Default::default() });
        let l = m.logits(&x);
        let mut out = vec![0.0; 2];
        for i in 0..n {
            let b = m.contributions(&x, i, &mut out);
            assert!((b + out[0] + out[1] - l[i]).abs() < 1e-9);
        }
    }

    #[test]
    fn cut_points_are_midpoints_or_quantiles() {
        assert_eq!(cut_points(&[3.0, 1.0, f64::NAN, 2.0, 2.0], 255), vec![1.5, 2.5]);
        let many: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
        let e = cut_points(&many, 16);
        assert_eq!(e.len(), 15);
        assert!(e.windows(2).all(|w| w[0] < w[1]));
    }
}
