package org.dbrxspark.runtime.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;

/**
 * The DBRX tokenizer: tiktoken's cl100k_base byte-level BPE plus the three DBRX added tokens. No
 * BOS or EOS is ever added.
 *
 * <p>Immutable and thread-safe. Loading takes about half a second, so there is one {@link
 * #shared()} instance.
 */
public final class DbrxTokenizer {

  /** Highest id the tokenizer knows, plus one. */
  private static final int VOCABULARY_SIZE = SpecialTokens.IM_END + 1;

  /** cl100k's mergeable ranks are exactly the ids 0..100255; ids are ranks. */
  private static final int MERGEABLE_RANKS = 100_256;

  private final Encoding cl100k;

  /**
   * Bytes of each id, or null for an id the tokenizer never produces. Kept here because jtokkit
   * knows nothing of the DBRX added tokens and fails on unknown ids with a NullPointerException.
   */
  private final byte[][] bytesById;

  private DbrxTokenizer() {
    cl100k = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    bytesById = new byte[VOCABULARY_SIZE][];
    IntArrayList single = new IntArrayList(1);
    single.add(0);
    for (int id = 0; id < MERGEABLE_RANKS; id++) {
      single.set(0, id);
      bytesById[id] = cl100k.decodeBytes(single);
    }
    for (int id = MERGEABLE_RANKS; id < VOCABULARY_SIZE; id++) {
      int special = id;
      SpecialTokens.textOf(id)
          .ifPresent(text -> bytesById[special] = text.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static final class Holder {
    static final DbrxTokenizer INSTANCE = new DbrxTokenizer();
  }

  /** The process-wide tokenizer, loaded on first use. */
  public static DbrxTokenizer shared() {
    return Holder.INSTANCE;
  }

  /**
   * Encodes text, treating special-token strings such as {@code <|im_end|>} as plain text. This is
   * the safe choice for user data.
   */
  public int[] encode(String text) {
    return cl100k.encodeOrdinary(text).toArray();
  }

  /**
   * Encodes text. With {@code allowSpecial}, the eight special-token strings ({@link
   * SpecialTokens}) become their ids, as in the original DBRX tokenizer; the text between them is
   * encoded as plain text.
   */
  public int[] encode(String text, boolean allowSpecial) {
    if (!allowSpecial) {
      return encode(text);
    }
    IntArrayList ids = new IntArrayList();
    Matcher special = SpecialTokens.PATTERN.matcher(text);
    int plainStart = 0;
    while (special.find()) {
      appendOrdinary(text.substring(plainStart, special.start()), ids);
      ids.add(SpecialTokens.idOf(special.group()).getAsInt());
      plainStart = special.end();
    }
    appendOrdinary(text.substring(plainStart), ids);
    return ids.toArray();
  }

  /** Appends the plain-text encoding of {@code text} to {@code ids}. */
  void appendOrdinary(String text, IntArrayList ids) {
    if (text.isEmpty()) {
      return;
    }
    IntArrayList encoded = cl100k.encodeOrdinary(text);
    for (int i = 0; i < encoded.size(); i++) {
      ids.add(encoded.get(i));
    }
  }

  /** Number of tokens of {@link #encode(String)}, without building the array. */
  public int countTokens(String text) {
    return cl100k.countTokensOrdinary(text);
  }

  /**
   * Decodes ids to text: concatenates their bytes and decodes UTF-8, replacing invalid sequences
   * with U+FFFD. Special ids decode to their strings.
   *
   * @throws IllegalArgumentException for an id the tokenizer never produces (see {@link
   *     #isProducible}); the original Python wrapper silently drops those, which would hide a
   *     sampling bug here
   */
  public String decode(int[] ids) {
    ByteArrayOutputStream utf8 = new ByteArrayOutputStream(ids.length * 4);
    for (int id : ids) {
      utf8.writeBytes(bytesOf(id));
    }
    return utf8.toString(StandardCharsets.UTF_8);
  }

  /**
   * One token's own text, or null for an id the tokenizer never produces (vocabulary padding):
   * top-logprob alternatives come from the model's whole distribution, before masks.
   */
  public String tokenText(int id) {
    return isProducible(id) ? decode(new int[] {id}) : null;
  }

  /**
   * The raw bytes of one token. A token may hold part of a UTF-8 character, so streaming output and
   * stop-string matching must work on these bytes rather than on per-token strings.
   *
   * @throws IllegalArgumentException for an id the tokenizer never produces
   */
  public byte[] tokenBytes(int id) {
    return bytesOf(id).clone();
  }

  /** Like {@link #tokenBytes} without the defensive copy; callers must not modify the array. */
  byte[] bytesOf(int id) {
    if (!isProducible(id)) {
      throw new IllegalArgumentException(
          "token id " + id + " is never produced by the DBRX tokenizer");
    }
    return bytesById[id];
  }

  /**
   * Whether the tokenizer can produce {@code id}: 0..100255, the five cl100k specials and the three
   * DBRX added tokens. False for the gaps 100256 and 100261–100275 and for anything outside
   * 0..100279.
   */
  public boolean isProducible(int id) {
    return id >= 0 && id < VOCABULARY_SIZE && bytesById[id] != null;
  }

  /**
   * A mask over a model's vocabulary rows: true where {@link #isProducible}. Sized by the model's
   * {@code vocab_size} (100352 for DBRX, whose rows past 100279 are padding; test models may be
   * smaller than the tokenizer).
   */
  public boolean[] producibleMask(int vocabSize) {
    if (vocabSize < 0) {
      throw new IllegalArgumentException("vocabSize must be >= 0, got " + vocabSize);
    }
    boolean[] mask = new boolean[vocabSize];
    for (int id = 0; id < Math.min(vocabSize, VOCABULARY_SIZE); id++) {
      mask[id] = bytesById[id] != null;
    }
    return mask;
  }

  /** 100280: the highest id the tokenizer knows plus one. Not the model's {@code vocab_size}. */
  public int vocabularySize() {
    return VOCABULARY_SIZE;
  }
}
