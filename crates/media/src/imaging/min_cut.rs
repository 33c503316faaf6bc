//! A minimum s–t cut (Dinic's maximum flow) for labelling pixels two ways: each node pays one cost
//! on the source side and another on the sink side, and each pair a cost when it is split one
//! way. Energies of two labels whose pair terms are submodular are minimised exactly this way
//! (Kolmogorov and Zabih, "What energy functions can be minimized via graph cuts?", 2004).
//!
//! Costs are whole numbers (the caller scales them): exact sums keep the flow from stalling on
//! rounding.

use std::collections::VecDeque;

/// A graph of `nodes` labelled by one cut; see the module's comment.
pub struct MinCut {
    nodes: usize,
    /// (from, to, capacity); the reverse of each is added with no capacity when solving.
    arcs: Vec<(u32, u32, i32)>,
}

impl MinCut {
    pub fn new(nodes: usize) -> Self {
        MinCut { nodes, arcs: Vec::new() }
    }

    /// Node `node` costs `on_source` if it ends on the source side and `on_sink` on the sink
    /// side (only their difference matters).
    pub fn terminal(&mut self, node: usize, on_source: i32, on_sink: i32) {
        let (source, sink) = (self.nodes as u32, self.nodes as u32 + 1);
        let least = on_source.min(on_sink);
        if on_sink > least {
            self.arcs.push((source, node as u32, on_sink - least));
        }
        if on_source > least {
            self.arcs.push((node as u32, sink, on_source - least));
        }
    }

    /// `cost` when `from` ends on the source side and `to` on the sink side.
    pub fn pair(&mut self, from: usize, to: usize, cost: i32) {
        if cost > 0 {
            self.arcs.push((from as u32, to as u32, cost));
        }
    }

    /// Whether each node ends on the sink side of a minimum cut.
    pub fn sink_side(self) -> Vec<bool> {
        let n = self.nodes + 2;
        let (source, sink) = (self.nodes, self.nodes + 1);
        // Each arc and its reverse (`twin`), grouped by tail (`start`: each node's first).
        let mut start = vec![0usize; n + 1];
        for &(a, b, _) in &self.arcs {
            start[a as usize + 1] += 1;
            start[b as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let m = self.arcs.len();
        let mut slot = start.clone();
        let (mut to, mut cap, mut twin) = (vec![0u32; 2 * m], vec![0i32; 2 * m], vec![0u32; 2 * m]);
        for &(a, b, c) in &self.arcs {
            let (i, j) = (slot[a as usize], slot[b as usize]);
            slot[a as usize] += 1;
            slot[b as usize] += 1;
            (to[i], cap[i], twin[i]) = (b, c, j as u32);
            (to[j], cap[j], twin[j]) = (a, 0, i as u32);
        }
        let mut level = vec![-1i32; n];
        let mut next = vec![0usize; n];
        let mut path: Vec<usize> = Vec::new();
        loop {
            // Levels by breadth from the source over arcs with room.
            level.fill(-1);
            level[source] = 0;
            let mut queue = VecDeque::from([source]);
            while let Some(v) = queue.pop_front() {
                for e in start[v]..start[v + 1] {
                    let w = to[e] as usize;
                    if cap[e] > 0 && level[w] < 0 {
                        level[w] = level[v] + 1;
                        queue.push_back(w);
                    }
                }
            }
            if level[sink] < 0 {
                break;
            }
            next.copy_from_slice(&start[..n]);
            // Blocking flow: paths along rising levels, each pushed at its narrowest arc.
            path.clear();
            let mut v = source;
            loop {
                if v == sink {
                    let push = path.iter().map(|&e| cap[e]).min().unwrap_or(0);
                    let mut back_to = path.len();
                    for (k, &e) in path.iter().enumerate() {
                        cap[e] -= push;
                        cap[twin[e] as usize] += push;
                        if cap[e] == 0 && back_to == path.len() {
                            back_to = k;
                        }
                    }
                    path.truncate(back_to);
                    v = path.last().map_or(source, |&e| to[e] as usize);
                    continue;
                }
                let mut advanced = false;
                while next[v] < start[v + 1] {
                    let e = next[v];
                    let w = to[e] as usize;
                    if cap[e] > 0 && level[w] == level[v] + 1 {
                        path.push(e);
                        v = w;
                        advanced = true;
                        break;
                    }
                    next[v] += 1;
                }
                if advanced {
                    continue;
                }
                // A dead end: no path goes on from here in this phase.
                level[v] = -1;
                match path.pop() {
                    Some(e) => {
                        v = to[twin[e] as usize] as usize;
                        next[v] += 1;
                    }
                    None => break,
                }
            }
        }
        // The source side: what the source still reaches.
        let mut reached = vec![false; n];
        reached[source] = true;
        let mut queue = VecDeque::from([source]);
        while let Some(v) = queue.pop_front() {
            for e in start[v]..start[v + 1] {
                let w = to[e] as usize;
                if cap[e] > 0 && !reached[w] {
                    reached[w] = true;
                    queue.push_back(w);
                }
            }
        }
        reached[..self.nodes].iter().map(|r| !r).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cheapest labelling by trying every one.
    fn brute_force(n: usize, unary: &[(i32, i32)], pairs: &[(usize, usize, i32)]) -> i32 {
        (0..1u32 << n)
            .map(|bits| {
                let sink = |i: usize| bits >> i & 1 == 1;
                let u: i32 = (0..n).map(|i| if sink(i) { unary[i].1 } else { unary[i].0 }).sum();
                let p: i32 = pairs.iter().filter(|&&(a, b, _)| !sink(a) && sink(b)).map(|p| p.2).sum();
                u + p
            })
            .min()
            .unwrap()
    }

    #[test]
    fn the_cut_costs_as_little_as_the_cheapest_labelling() {
        // Small graphs drawn by a fixed generator, every labelling tried.
        let mut seed = 7u64;
        let mut draw = |m: i32| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as i32 % m
        };
        for _ in 0..200 {
            let n = 2 + draw(8) as usize;
            let unary: Vec<(i32, i32)> = (0..n).map(|_| (draw(20), draw(20))).collect();
            let pairs: Vec<(usize, usize, i32)> =
                (0..draw(14)).map(|_| (draw(n as i32) as usize, draw(n as i32) as usize, draw(15))).collect();
            let mut cut = MinCut::new(n);
            for (i, &(s, t)) in unary.iter().enumerate() {
                cut.terminal(i, s, t);
            }
            for &(a, b, c) in &pairs {
                if a != b {
                    cut.pair(a, b, c);
                }
            }
            let sink = cut.sink_side();
            let cost: i32 = (0..n).map(|i| if sink[i] { unary[i].1 } else { unary[i].0 }).sum::<i32>()
                + pairs.iter().filter(|&&(a, b, _)| a != b && !sink[a] && sink[b]).map(|p| p.2).sum::<i32>();
            let pairs: Vec<_> = pairs.into_iter().filter(|p| p.0 != p.1).collect();
            assert_eq!(cost, brute_force(n, &unary, &pairs), "{unary:?} {pairs:?}");
        }
    }

    #[test]
    fn a_bright_square_is_cut_out_of_a_dark_grid_along_its_edges() {
        // Noisy evidence for a 6 x 6 square in a 12 x 12 grid, smoothed by neighbour pairs: the cut
        // takes the square whole and nothing else.
        let side = 12;
        let inside = |x: usize, y: usize| (3..9).contains(&x) && (3..9).contains(&y);
        let mut cut = MinCut::new(side * side);
        for y in 0..side {
            for x in 0..side {
                let i = y * side + x;
                // Nine pixels' evidence lies (two of them on the square's rim).
                let lies = (x * 7 + y * 3) % 17 == 0;
                let sink = inside(x, y) != lies;
                cut.terminal(i, if sink { 10 } else { 0 }, if sink { 0 } else { 10 });
                for (dx, dy) in [(1, 0), (0, 1)] {
                    if x + dx < side && y + dy < side {
                        let j = (y + dy) * side + x + dx;
                        cut.pair(i, j, 6);
                        cut.pair(j, i, 6);
                    }
                }
            }
        }
        let sink = cut.sink_side();
        for y in 0..side {
            for x in 0..side {
                assert_eq!(sink[y * side + x], inside(x, y), "({x}, {y})");
            }
        }
    }
}
