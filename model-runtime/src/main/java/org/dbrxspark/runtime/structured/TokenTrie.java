package org.dbrxspark.runtime.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * The byte strings of every text token, as a trie flattened in depth-first order: node {@code i}
 * has a byte {@link #label}, a {@link #depth} (1 for the first byte) and the {@link #token} that
 * ends there or -1; its subtree is the nodes {@code i} to {@link #subtreeEnd}{@code - 1}. Walking a
 * DFA over it visits each shared prefix once, and skipping a dead subtree is a jump.
 */
final class TokenTrie {
  final byte[] label;
  final int[] depth;
  final int[] token;
  final int[] subtreeEnd;
  final int maxDepth;

  /** Each text token's bytes by id; null for special and never-produced ids. */
  final byte[][] bytesById;

  private TokenTrie(byte[] label, int[] depth, int[] token, int[] subtreeEnd, byte[][] bytesById) {
    this.label = label;
    this.depth = depth;
    this.token = token;
    this.subtreeEnd = subtreeEnd;
    this.bytesById = bytesById;
    this.maxDepth = Arrays.stream(depth).max().orElse(0);
  }

  private static final class Holder {
    static final TokenTrie SHARED = of(DbrxTokenizer.shared());
  }

  /** The trie of the shared DBRX tokenizer, built on first use. */
  static TokenTrie shared() {
    return Holder.SHARED;
  }

  int size() {
    return label.length;
  }

  static TokenTrie of(DbrxTokenizer tokenizer) {
    byte[][] bytesById = new byte[tokenizer.vocabularySize()][];
    Node root = new Node();
    for (int id = 0; id < bytesById.length; id++) {
      if (tokenizer.isProducible(id) && !SpecialTokens.isSpecial(id)) {
        bytesById[id] = tokenizer.tokenBytes(id);
        Node at = root;
        for (byte b : bytesById[id]) {
          at = at.child(b);
        }
        at.token = id;
      }
    }
    for (int b = 0; b < 256; b++) {
      if (root.child((byte) b).token < 0) {
        // Compiled formats rely on it: any live DFA state can then be continued.
        throw new IllegalStateException("the vocabulary has no token for the single byte " + b);
      }
    }
    List<Node> order = new ArrayList<>();
    List<Integer> depths = new ArrayList<>();
    for (Node child : root.sortedChildren()) {
      flatten(child, 1, order, depths);
    }
    int n = order.size();
    byte[] label = new byte[n];
    int[] depth = new int[n];
    int[] token = new int[n];
    int[] end = new int[n];
    for (int i = 0; i < n; i++) {
      Node node = order.get(i);
      label[i] = node.label;
      depth[i] = depths.get(i);
      token[i] = node.token;
      end[i] = node.end;
    }
    return new TokenTrie(label, depth, token, end, bytesById);
  }

  private static void flatten(Node node, int depth, List<Node> order, List<Integer> depths) {
    order.add(node);
    depths.add(depth);
    for (Node child : node.sortedChildren()) {
      flatten(child, depth + 1, order, depths);
    }
    node.end = order.size();
  }

  /** A trie node while building. */
  private static final class Node {
    byte label;
    int token = -1;
    int end;
    private Node[] children = new Node[0];

    Node child(byte b) {
      for (Node c : children) {
        if (c.label == b) {
          return c;
        }
      }
      Node c = new Node();
      c.label = b;
      children = Arrays.copyOf(children, children.length + 1);
      children[children.length - 1] = c;
      return c;
    }

    Node[] sortedChildren() {
      Node[] sorted = children.clone();
      Arrays.sort(sorted, (a, b) -> Integer.compare(a.label & 0xFF, b.label & 0xFF));
      return sorted;
    }
  }
}
