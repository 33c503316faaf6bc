//! Per-item work spread over the machine's cores: the image functions' per-tile fills and
//! alignments are independent of one another, and on a 12 MP photo they are most of the time
//! the Rust side spends (the models already use every core through ONNX Runtime).

/// `f` over `items`, in order, on up to as many scoped threads as there are cores (one item or
/// one core runs here, without a thread). Thread `k` of `n` takes items `k`, `k + n`, …: costly
/// items come in runs (the tiles over busy photo, the places that show a cut tile), and
/// interleaving shares them out.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let threads = cores.min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let parts: Vec<Vec<R>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| scope.spawn(move || items.iter().skip(k).step_by(threads).map(f).collect::<Vec<R>>()))
            .collect();
        // A panic in `f` is `f`'s own: carried on here, as it would be without threads.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut parts: Vec<std::vec::IntoIter<R>> = parts.into_iter().map(Vec::into_iter).collect();
    (0..items.len()).filter_map(|i| parts[i % threads].next()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_mapped_once_and_in_order() {
        let items: Vec<u32> = (0..101).collect();
        assert_eq!(map(&items, |v| v * 2), items.iter().map(|v| v * 2).collect::<Vec<_>>());
        assert_eq!(map(&[7u32], |v| v + 1), vec![8]);
        assert!(map(&[] as &[u32], |v| *v).is_empty());
    }
}
