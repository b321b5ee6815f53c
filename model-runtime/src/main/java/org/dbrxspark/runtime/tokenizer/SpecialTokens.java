package org.dbrxspark.runtime.tokenizer;

import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The special token ids of the DBRX tokenizer: the five cl100k specials and the three tokens DBRX
 * adds on top of cl100k.
 */
public final class SpecialTokens {

  /** {@code <|endoftext|>}: BOS, EOS and UNK of the tokenizer config. */
  public static final int ENDOFTEXT = 100257;

  /** {@code <|fim_prefix|>}: unused by DBRX. */
  public static final int FIM_PREFIX = 100258;

  /** {@code <|fim_middle|>}: unused by DBRX. */
  public static final int FIM_MIDDLE = 100259;

  /** {@code <|fim_suffix|>}: unused by DBRX. */
  public static final int FIM_SUFFIX = 100260;

  /** {@code <|endofprompt|>}: unused by DBRX. */
  public static final int ENDOFPROMPT = 100276;

  /** {@code <|pad|>}: the pad token. */
  public static final int PAD = 100277;

  /** {@code <|im_start|>}: opens a ChatML turn. */
  public static final int IM_START = 100278;

  /** {@code <|im_end|>}: closes a ChatML turn; also a generation EOS. */
  public static final int IM_END = 100279;

  /** Generation stops on either of these ids ({@code generation_config.json}). */
  public static final Set<Integer> EOS_IDS = Set.of(ENDOFTEXT, IM_END);

  private static final Map<String, Integer> ID_BY_TEXT =
      Map.of(
          "<|endoftext|>", ENDOFTEXT,
          "<|fim_prefix|>", FIM_PREFIX,
          "<|fim_middle|>", FIM_MIDDLE,
          "<|fim_suffix|>", FIM_SUFFIX,
          "<|endofprompt|>", ENDOFPROMPT,
          "<|pad|>", PAD,
          "<|im_start|>", IM_START,
          "<|im_end|>", IM_END);
  private static final Map<Integer, String> TEXT_BY_ID =
      ID_BY_TEXT.entrySet().stream()
          .collect(Collectors.toUnmodifiableMap(Map.Entry::getValue, Map.Entry::getKey));

  /**
   * Finds special-token strings in text. Longer alternatives come first so that the leftmost match
   * is also the longest one, whatever strings are added later.
   */
  static final Pattern PATTERN =
      Pattern.compile(
          ID_BY_TEXT.keySet().stream()
              .sorted(Comparator.comparingInt(String::length).reversed())
              .map(Pattern::quote)
              .collect(Collectors.joining("|")));

  private SpecialTokens() {}

  /** Whether {@code id} is one of the eight special ids. */
  public static boolean isSpecial(int id) {
    return TEXT_BY_ID.containsKey(id);
  }

  /** Whether generation should stop after {@code id}. */
  public static boolean isEos(int id) {
    return id == ENDOFTEXT || id == IM_END;
  }

  /** The string of a special id, e.g. {@code "<|im_end|>"} for 100279; empty for other ids. */
  public static Optional<String> textOf(int id) {
    return Optional.ofNullable(TEXT_BY_ID.get(id));
  }

  /** The id of a special-token string, e.g. 100278 for {@code "<|im_start|>"}; empty otherwise. */
  public static OptionalInt idOf(String text) {
    Integer id = ID_BY_TEXT.get(text);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }
}
