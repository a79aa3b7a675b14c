//! Cross-validation splits.
//!
//! * [`kfold`]: shuffled k-fold for static data sets (one row per entity, no time order), stratified by
//!   outcome so every fold holds the same share of positives (AUC on a fold without positives is null).
//! * [`time_folds`]: folds by observation date for panels of (entity, observation date) rows. Each fold
//!   tests one observation date and trains only on rows whose outcome window had closed by then
//!   (`date + horizon ≤ test date`): a row observed at `t` carries a label about `(t, t + horizon]`, so
//!   training on a later-closing row would use the future.
use holdfast_core::time::Ts;
use rand::seq::SliceRandom;
use rand::SeedableRng;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    pub train: Vec<u32>,
    pub test: Vec<u32>,
    /// The observation date tested (time folds only).
    pub test_date: Option<Ts>,
}

/// Stratified shuffled k-fold: positives and negatives are each shuffled (seeded) and dealt round-robin.
pub fn kfold(outcomes: &[bool], k: usize, seed: u64) -> Vec<Fold> {
    let k = k.max(2);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut fold_of = vec![0usize; outcomes.len()];
    for class in [true, false] {
        let mut idx: Vec<u32> = (0..outcomes.len() as u32).filter(|&i| outcomes[i as usize] == class).collect();
        idx.shuffle(&mut rng);
        for (j, &i) in idx.iter().enumerate() {
            fold_of[i as usize] = j % k;
        }
    }
    (0..k)
        .map(|f| {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (i, &g) in fold_of.iter().enumerate() {
                if g == f { test.push(i as u32) } else { train.push(i as u32) }
            }
            Fold { train, test, test_date: None }
        })
        .collect()
}

/// Time-ordered folds over the last `n_folds` distinct observation dates that have at least one earlier
/// row whose window closed before them. Rows with a date after the test date are never in training.
pub fn time_folds(dates: &[Ts], horizon: i64, n_folds: usize) -> Vec<Fold> {
    let mut distinct: Vec<Ts> = dates.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut folds = Vec::new();
    for &d in distinct.iter().rev() {
        if folds.len() == n_folds {
            break;
        }
        let train: Vec<u32> = (0..dates.len() as u32).filter(|&i| dates[i as usize] + horizon <= d).collect();
        if train.is_empty() {
            continue;
        }
        let test: Vec<u32> = (0..dates.len() as u32).filter(|&i| dates[i as usize] == d).collect();
        folds.push(Fold { train, test, test_date: Some(d) });
    }
    folds.reverse();
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfold_partitions_and_stratifies() {
        let y: Vec<bool> = (0..103).map(|i| i % 4 == 0).collect(); // 26 positives
        let folds = kfold(&y, 5, 9);
        let mut seen = vec![0; 103];
        for f in &folds {
            for &i in &f.test {
                seen[i as usize] += 1;
            }
            assert_eq!(f.train.len() + f.test.len(), 103);
            let pos = f.test.iter().filter(|&&i| y[i as usize]).count();
            assert!(pos == 5 || pos == 6, "{pos}");
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn time_folds_never_train_on_open_windows() {
        let m = 30;
        let dates: Vec<Ts> = (0..6).flat_map(|d| std::iter::repeat_n(d * m, 3)).collect();
        let folds = time_folds(&dates, 3 * m, 2);
        assert_eq!(folds.len(), 2);
        assert_eq!(folds[1].test_date, Some(5 * m));
        // test date 5m: windows of dates 0, m, 2m have closed (2m + 3m ≤ 5m)
        assert_eq!(folds[1].train, (0..9).collect::<Vec<u32>>());
        assert_eq!(folds[0].test_date, Some(4 * m));
        assert_eq!(folds[0].train, (0..6).collect::<Vec<u32>>());
        for f in &folds {
            for &i in &f.train {
                assert!(dates[i as usize] + 3 * m <= f.test_date.unwrap());
            }
        }
    }
}
