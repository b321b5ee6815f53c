package org.dbrxspark.jobs.rag;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.jobs.text.ScriptFullStops;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Splits a text into chunks of at most {@code chunkSize} DBRX tokens that overlap by at most {@code
 * overlap} tokens, preferring to cut between paragraphs, then lines, then sentences, then words;
 * only a single word longer than a chunk is cut inside.
 *
 * <p>Two steps. <b>Split</b>: a span longer than a chunk is cut at the strongest separator it
 * contains and each piece is split again with the weaker separators, until every piece fits; the
 * pieces tile the text. <b>Merge</b>: consecutive pieces are packed greedily into chunks. Each
 * chunk after the first starts with the tail of the previous one, from the earliest word start
 * whose tail has at most {@code overlap} tokens (less when the next piece leaves less room).
 *
 * <p>A chunk's offsets index the original string ({@code text.substring(start, end)} is the chunk,
 * trimmed of surrounding whitespace) and its token count is that substring's exact count. Pieces
 * are counted separately while packing, and BPE counts are nearly but not exactly additive, so
 * every packed chunk is counted again and shortened if needed. The result depends only on the text
 * and the two sizes. Thread-safe.
 */
public final class Chunker implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Smallest chunk size: a single code point can take four byte-level tokens. */
  public static final int MIN_CHUNK_SIZE = 8;

  /**
   * One chunk of a text.
   *
   * @param index position among the text's chunks, from 0
   * @param start offset of the first character (UTF-16 units, as {@link String#substring})
   * @param end offset after the last character
   * @param tokens DBRX tokens in {@code text.substring(start, end)}
   */
  public record Chunk(int index, int start, int end, int tokens) {
    /** This chunk's text within {@code text}. */
    public String text(String text) {
      return text.substring(start, end);
    }
  }

  /** Separators from strongest to weakest; pieces keep their separators, so they tile the text. */
  private enum Level {
    PARAGRAPH,
    LINE,
    SENTENCE,
    WORD
  }

  private static final Level[] LEVELS = Level.values();

  /** A piece of the text that fits in a chunk; {@code tokens} counts the untrimmed span. */
  private record Piece(int start, int end, int tokens) {}

  private final int chunkSize;
  private final int overlap;

  /**
   * @param chunkSize most tokens per chunk, at least {@value #MIN_CHUNK_SIZE}
   * @param overlap most tokens a chunk repeats from the previous one, below {@code chunkSize}
   */
  public Chunker(int chunkSize, int overlap) {
    if (chunkSize < MIN_CHUNK_SIZE) {
      throw new IllegalArgumentException(
          "chunk size must be at least " + MIN_CHUNK_SIZE + " tokens, got " + chunkSize);
    }
    if (overlap < 0 || overlap >= chunkSize) {
      throw new IllegalArgumentException(
          "chunk overlap must be in [0, chunk size " + chunkSize + "), got " + overlap);
    }
    this.chunkSize = chunkSize;
    this.overlap = overlap;
  }

  public int chunkSize() {
    return chunkSize;
  }

  public int overlap() {
    return overlap;
  }

  /** The chunks of {@code text}, in order; none for null or blank text. */
  public List<Chunk> split(String text) {
    if (text == null) {
      return List.of();
    }
    int start = skipSpace(text, 0, text.length());
    int end = trimEnd(text, start, text.length());
    if (start == end) {
      return List.of();
    }
    List<Piece> pieces = new ArrayList<>();
    split(text, start, end, 0, pieces);
    return merge(text, pieces);
  }

  /**
   * Splits {@code [start, end)} at the strongest separators from {@code level} on until every piece
   * fits.
   */
  private void split(String text, int start, int end, int level, List<Piece> out) {
    if (fits(text, start, end)) {
      out.add(new Piece(start, end, count(text, start, end)));
      return;
    }
    int first = skipSpace(text, start, end);
    int last = trimEnd(text, first, end);
    for (int l = level; l < LEVELS.length; l++) {
      List<Integer> cuts = cuts(text, first, last, LEVELS[l]);
      if (!cuts.isEmpty()) {
        int from = start;
        for (int cut : cuts) {
          split(text, from, cut, l + 1, out);
          from = cut;
        }
        split(text, from, end, l + 1, out);
        return;
      }
    }
    cutWord(text, start, end, out);
  }

  /** Whether a span fits in a chunk, counted as is (for packing) and trimmed (as a chunk). */
  private boolean fits(String text, int start, int end) {
    if (count(text, start, end) > chunkSize) {
      return false;
    }
    int first = skipSpace(text, start, end);
    int last = trimEnd(text, first, end);
    return first == start && last == end || count(text, first, last) <= chunkSize;
  }

  /**
   * Cut positions of one separator level strictly inside the non-blank span {@code [first, last)}:
   * after a blank line (paragraph) or a line break (line), both with the following indentation;
   * before the space after terminal punctuation (sentence; the {@link ScriptFullStops} need no
   * space); before each run of spaces (word). A space stays with the word after it, as the
   * tokenizer does.
   */
  private static List<Integer> cuts(String text, int first, int last, Level level) {
    List<Integer> cuts = new ArrayList<>();
    int i = first + 1;
    while (i < last) {
      char c = text.charAt(i);
      if (!Character.isWhitespace(c)) {
        if (level == Level.SENTENCE
            && ScriptFullStops.is(text.charAt(i - 1))
            && !isCloser(c)
            && !isStop(c)) {
          cuts.add(i);
        }
        i++;
        continue;
      }
      int runEnd = i;
      int newlines = 0;
      while (runEnd < last && Character.isWhitespace(text.charAt(runEnd))) {
        newlines += text.charAt(runEnd) == '\n' ? 1 : 0;
        runEnd++;
      }
      boolean cut =
          switch (level) {
            case PARAGRAPH -> newlines >= 2;
            case LINE -> newlines >= 1;
            case SENTENCE -> endsSentence(text, first, i);
            case WORD -> true;
          };
      if (cut) {
        cuts.add(level == Level.PARAGRAPH || level == Level.LINE ? runEnd : i);
      }
      i = runEnd;
    }
    return cuts;
  }

  /**
   * Whether the text before {@code at} ends with terminal punctuation, perhaps followed by closers.
   */
  private static boolean endsSentence(String text, int first, int at) {
    int j = at - 1;
    while (j > first && isCloser(text.charAt(j))) {
      j--;
    }
    return isStop(text.charAt(j));
  }

  private static boolean isStop(char c) {
    return c == '.' || c == '!' || c == '?' || c == '\u2026' || ScriptFullStops.is(c);
  }

  private static boolean isCloser(char c) {
    return c == '"'
        || c == '\''
        || c == ')'
        || c == ']'
        || c == '\u201d'
        || c == '\u2019'
        || c == '\u300d';
  }

  /** Cuts a span with no separator (one long word) into the longest prefixes that fit. */
  private void cutWord(String text, int start, int end, List<Piece> out) {
    // Cut between code points of the non-blank part; surrounding spaces go with the end pieces.
    int first = skipSpace(text, start, end);
    int last = trimEnd(text, first, end);
    List<Integer> bounds = new ArrayList<>();
    for (int i = first; i < last; i += Character.charCount(text.codePointAt(i))) {
      bounds.add(i + Character.charCount(text.codePointAt(i)));
    }
    bounds.set(bounds.size() - 1, end);
    int from = start;
    int b = 0;
    while (from < end) {
      // The last code point boundary whose prefix fits; a single code point always does.
      int lo = b;
      int hi = bounds.size() - 1;
      while (lo < hi) {
        int mid = (lo + hi + 1) >>> 1;
        if (fits(text, from, bounds.get(mid))) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      int to = bounds.get(lo);
      out.add(new Piece(from, to, count(text, from, to)));
      from = to;
      b = lo + 1;
    }
  }

  private List<Chunk> merge(String text, List<Piece> pieces) {
    List<Chunk> chunks = new ArrayList<>();
    int previousStart = -1;
    int i = 0;
    while (i < pieces.size()) {
      Piece next = pieces.get(i);
      int start = next.start();
      int tokens = 0;
      if (previousStart >= 0 && overlap > 0) {
        int budget = Math.min(overlap, chunkSize - next.tokens());
        start = overlapStart(text, previousStart, next.start(), budget);
        tokens = start < next.start() ? count(text, start, next.start()) : 0;
      }
      int j = i;
      while (j < pieces.size() && tokens + pieces.get(j).tokens() <= chunkSize) {
        tokens += pieces.get(j).tokens();
        j++;
      }
      // BPE counts are not exactly additive: count the packed span and drop pieces until it fits.
      int first = skipSpace(text, start, pieces.get(j - 1).end());
      int last = trimEnd(text, first, pieces.get(j - 1).end());
      int exact = count(text, first, last);
      while (exact > chunkSize) {
        if (j - 1 > i) {
          j--;
        } else if (start < next.start()) {
          start = next.start();
        } else {
          throw new IllegalStateException("a piece that fits does not fit: " + next);
        }
        first = skipSpace(text, start, pieces.get(j - 1).end());
        last = trimEnd(text, first, pieces.get(j - 1).end());
        exact = count(text, first, last);
      }
      chunks.add(new Chunk(chunks.size(), first, last, exact));
      previousStart = first;
      i = j;
    }
    return chunks;
  }

  /**
   * The earliest word start after {@code from} whose tail up to {@code to} has at most {@code
   * budget} tokens, or {@code to} when none has.
   */
  private static int overlapStart(String text, int from, int to, int budget) {
    if (budget <= 0) {
      return to;
    }
    List<Integer> starts = new ArrayList<>();
    for (int q = from + 1; q < to; q++) {
      if (!Character.isWhitespace(text.charAt(q)) && Character.isWhitespace(text.charAt(q - 1))) {
        starts.add(q);
      }
    }
    // Tails shrink as the start moves right: find the first start whose tail fits.
    int lo = 0;
    int hi = starts.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (count(text, starts.get(mid), to) <= budget) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo < starts.size() && count(text, starts.get(lo), to) <= budget ? starts.get(lo) : to;
  }

  private static int count(String text, int start, int end) {
    return start >= end ? 0 : DbrxTokenizer.shared().countTokens(text.substring(start, end));
  }

  private static int skipSpace(String text, int start, int end) {
    while (start < end && Character.isWhitespace(text.charAt(start))) {
      start++;
    }
    return start;
  }

  private static int trimEnd(String text, int start, int end) {
    while (end > start && Character.isWhitespace(text.charAt(end - 1))) {
      end--;
    }
    return end;
  }
}
