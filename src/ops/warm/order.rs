//! The stampede-safe order of one URL's requests. A cold page costs the backend
//! one render per cache key; sending every variant to every node at once would
//! make a cold cache ask for the same render many times at the same instant. So:
//! the URL's first request (first node, first encoding) goes alone; once it has
//! answered, the first encoding on each other node (each node's cache is its
//! own); once a node has answered that, the other encodings on that node (they
//! share its cache entry, or have their own `Vary` variant of it).

/// One request of a URL: which node, which encoding (indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    pub node: usize,
    pub encoding: usize,
}

impl Slot {
    pub const FIRST: Slot = Slot {
        node: 0,
        encoding: 0,
    };

    /// The first request of the URL on its node (the cache as it was).
    pub fn first_on_node(self) -> bool {
        self.encoding == 0
    }
}

/// The requests that may go once `answered` has answered (or failed: a node that
/// refused does not stop the others).
pub fn after(answered: Slot, nodes: usize, encodings: usize) -> Vec<Slot> {
    let mut next = Vec::new();
    if answered.encoding != 0 {
        return next;
    }
    if answered.node == 0 {
        next.extend((1..nodes).map(|node| Slot { node, encoding: 0 }));
    }
    next.extend((1..encodings).map(|encoding| Slot {
        node: answered.node,
        encoding,
    }));
    next
}

/// Requests per URL.
pub fn per_url(nodes: usize, encodings: usize) -> usize {
    nodes.max(1) * encodings.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_slot_exactly_once_and_never_before_its_node_answered() {
        for nodes in 1..4 {
            for encodings in 1..4 {
                let mut sent = vec![Slot::FIRST];
                let mut queue = vec![Slot::FIRST];
                while let Some(s) = queue.pop() {
                    for n in after(s, nodes, encodings) {
                        // The node's first request came before any of its variants,
                        // and node 0's first before everything.
                        assert!(sent.contains(&Slot::FIRST));
                        assert!(
                            sent.contains(&Slot {
                                node: n.node,
                                encoding: 0
                            }) || n.encoding == 0
                        );
                        sent.push(n);
                        queue.push(n);
                    }
                }
                let unique: BTreeSet<Slot> = sent.iter().copied().collect();
                assert_eq!(unique.len(), sent.len(), "no slot twice");
                assert_eq!(sent.len(), per_url(nodes, encodings));
            }
        }
    }

    #[test]
    fn the_first_answer_opens_the_other_nodes_and_its_variants() {
        assert_eq!(
            after(Slot::FIRST, 2, 3),
            vec![
                Slot {
                    node: 1,
                    encoding: 0
                },
                Slot {
                    node: 0,
                    encoding: 1
                },
                Slot {
                    node: 0,
                    encoding: 2
                },
            ]
        );
        assert_eq!(
            after(
                Slot {
                    node: 1,
                    encoding: 0
                },
                2,
                2
            ),
            vec![Slot {
                node: 1,
                encoding: 1
            }]
        );
        assert!(
            after(
                Slot {
                    node: 1,
                    encoding: 1
                },
                2,
                2
            )
            .is_empty()
        );
    }
}
