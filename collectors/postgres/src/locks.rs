//! Folds "pid waits for pids" (from `pg_blocking_pids`) into trees with the root blockers
//! on top: the sessions a responder would cancel first. A pid with several blockers is
//! placed once, under the blocker that reaches it in the fewest waits; its `blocked_by`
//! keeps all of them. Pids that only block each other (a deadlock not yet detected) form a
//! tree rooted at the lowest pid, marked as a cycle.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::queries::Edge;

/// The shape of one lock tree: pids only; the evidence adds who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidTree {
    pub pid: i32,
    pub children: Vec<PidTree>,
}

impl PidTree {
    /// The longest chain of waits below this node (0 for a lone node).
    pub fn depth(&self) -> usize {
        self.children.iter().map(|c| c.depth() + 1).max().unwrap_or(0)
    }

    /// How many sessions wait under this node, directly or not.
    pub fn waiting(&self) -> usize {
        self.children.iter().map(|c| c.waiting() + 1).sum()
    }
}

/// A tree and whether its root is itself waiting in a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub tree: PidTree,
    pub cycle: bool,
}

/// Folds the wait edges into trees, the largest first.
pub fn fold(edges: &[Edge]) -> Vec<Folded> {
    let mut blocked_by: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    let mut blocks: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    for edge in edges {
        for &blocker in edge.blockers.iter().filter(|&&b| b != edge.pid && b != 0) {
            blocked_by.entry(edge.pid).or_default().insert(blocker);
            blocks.entry(blocker).or_default().insert(edge.pid);
        }
    }
    let mut placed: BTreeSet<i32> = BTreeSet::new();
    let mut trees = Vec::new();
    let roots: Vec<i32> = blocks.keys().copied().filter(|p| !blocked_by.contains_key(p)).collect();
    for root in roots {
        trees.push(Folded { tree: grow(root, &blocks, &mut placed), cycle: false });
    }
    // Whatever is still unplaced waits only on other waiters: a cycle.
    while let Some(&start) = blocked_by.keys().find(|p| !placed.contains(p)) {
        trees.push(Folded { tree: grow(start, &blocks, &mut placed), cycle: true });
    }
    trees.sort_by(|a, b| b.tree.waiting().cmp(&a.tree.waiting()).then(a.tree.pid.cmp(&b.tree.pid)));
    trees
}

/// Breadth-first from `root`, so every pid lands at its shallowest place.
fn grow(root: i32, blocks: &BTreeMap<i32, BTreeSet<i32>>, placed: &mut BTreeSet<i32>) -> PidTree {
    placed.insert(root);
    let mut parent_of: BTreeMap<i32, i32> = BTreeMap::new();
    let mut order = vec![root];
    let mut queue = VecDeque::from([root]);
    while let Some(pid) = queue.pop_front() {
        for &child in blocks.get(&pid).into_iter().flatten() {
            if placed.insert(child) {
                parent_of.insert(child, pid);
                order.push(child);
                queue.push_back(child);
            }
        }
    }
    build(root, &parent_of, &order)
}

fn build(pid: i32, parent_of: &BTreeMap<i32, i32>, order: &[i32]) -> PidTree {
    let children = order
        .iter()
        .filter(|c| parent_of.get(c) == Some(&pid))
        .map(|&c| build(c, parent_of, order))
        .collect();
    PidTree { pid, children }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(pid: i32, blockers: &[i32]) -> Edge {
        Edge { pid, blockers: blockers.to_vec() }
    }

    #[test]
    fn a_chain_behind_one_root_is_one_tree() {
        // 10 holds the table; 11 and 12 wait for it; 13 waits for 12.
        let trees = fold(&[edge(11, &[10]), edge(12, &[10]), edge(13, &[12])]);
        assert_eq!(trees.len(), 1);
        let t = &trees[0];
        assert!(!t.cycle);
        assert_eq!(t.tree.pid, 10);
        assert_eq!(t.tree.depth(), 2);
        assert_eq!(t.tree.waiting(), 3);
        assert_eq!(t.tree.children.iter().map(|c| c.pid).collect::<Vec<_>>(), [11, 12]);
        assert_eq!(t.tree.children[1].children[0].pid, 13);
    }

    #[test]
    fn soft_blocks_place_a_waiter_at_its_shallowest() {
        // 14 waits behind the root and, in the queue, behind 11 and 12.
        let trees = fold(&[edge(11, &[10]), edge(12, &[10]), edge(14, &[10, 11, 12])]);
        assert_eq!(trees[0].tree.depth(), 1);
        assert_eq!(trees[0].tree.waiting(), 3);
    }

    #[test]
    fn separate_roots_are_separate_trees_largest_first() {
        let trees = fold(&[edge(2, &[1]), edge(21, &[20]), edge(22, &[20])]);
        assert_eq!(trees.iter().map(|t| t.tree.pid).collect::<Vec<_>>(), [20, 1]);
    }

    #[test]
    fn a_cycle_without_a_root_is_still_shown() {
        let trees = fold(&[edge(5, &[6]), edge(6, &[5]), edge(7, &[6])]);
        assert_eq!(trees.len(), 1);
        assert!(trees[0].cycle);
        assert_eq!(trees[0].tree.pid, 5);
        assert_eq!(trees[0].tree.waiting(), 2);
    }

    #[test]
    fn no_edges_no_trees() {
        assert!(fold(&[edge(3, &[])]).is_empty());
    }
}
