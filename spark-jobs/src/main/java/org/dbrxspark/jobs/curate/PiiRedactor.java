package org.dbrxspark.jobs.curate;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces e-mail addresses, IPv4 and IPv6 addresses and phone numbers with the placeholders {@code
 * <EMAIL>}, {@code <IP>} and {@code <PHONE>}.
 *
 * <p>Phone numbers are recognised in three shapes, to keep dates, years and version numbers out:
 * international ({@code +CC} followed by 8 to 15 digits in groups), North American ({@code (555)
 * 123-4567}, {@code 555-123-4567}) and national numbers with a bracketed trunk prefix ({@code (030)
 * 1234 5678}).
 */
public final class PiiRedactor {
  static final String EMAIL = "<EMAIL>";
  static final String IP = "<IP>";
  static final String PHONE = "<PHONE>";

  static final Pattern EMAIL_RE =
      Pattern.compile(
          "(?<![\\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
              + "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}\\b");
  private static final String OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
  static final Pattern IPV4_RE =
      Pattern.compile("(?<![\\w.])" + OCTET + "(?:\\." + OCTET + "){3}(?![\\w]|\\.\\d)");
  static final Pattern IPV6_CANDIDATE =
      Pattern.compile(
          "(?<![\\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:"
              + OCTET
              + "(?:\\."
              + OCTET
              + "){3}|[0-9A-Fa-f]{1,4})?"
              + "(?![\\w:]|\\.\\d)");
  static final Pattern PHONE_RE =
      Pattern.compile(
          "(?<![\\w+])(?:"
              + "\\+\\d{1,3}(?:[ .-]?\\(?\\d{1,5}\\)?){2,6}"
              + "|(?:\\(\\d{3}\\) ?|\\d{3}[-. ])\\d{3}[-. ]\\d{4}"
              + "|\\(0\\d{1,4}\\) ?\\d{2,8}(?:[ -]\\d{2,8}){0,3}"
              + ")(?![\\w]|[.-]\\d)");

  private PiiRedactor() {}

  /** The redacted text and how many replacements were made. */
  public record Result(String text, int replacements) {}

  /** Redacts every recognised e-mail, IP address and phone number in {@code text}. */
  public static Result redact(String text) {
    int[] count = {0};
    // Each pattern runs only where the text holds what every match of it holds: scanning for that
    // is a small part of what the pattern's own scan costs, and most documents have none.
    String out = text.indexOf('@') < 0 ? text : replace(EMAIL_RE, text, EMAIL, count, m -> true);
    out = hasIpv6Groups(out) ? replace(IPV6_CANDIDATE, out, IP, count, PiiRedactor::isIpv6) : out;
    out = hasDecimalPoint(out) ? replace(IPV4_RE, out, IP, count, m -> true) : out;
    out =
        hasPhoneStart(out)
            ? replace(PHONE_RE, out, PHONE, count, PiiRedactor::plausiblePhone)
            : out;
    return new Result(out, count[0]);
  }

  /** Whether {@code s} has two colons with at most four hex digits between: any IPv6 match does. */
  static boolean hasIpv6Groups(String s) {
    for (int i = s.indexOf(':'); i >= 0; i = s.indexOf(':', i + 1)) {
      int j = i + 1;
      while (j < s.length() && j - i <= 4 && isHex(s.charAt(j))) {
        j++;
      }
      if (j < s.length() && s.charAt(j) == ':') {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code s} has a digit, a point and a digit: any IPv4 match does. */
  static boolean hasDecimalPoint(String s) {
    for (int i = s.indexOf('.'); i >= 0; i = s.indexOf('.', i + 1)) {
      if (i > 0 && isDigit(s.charAt(i - 1)) && i + 1 < s.length() && isDigit(s.charAt(i + 1))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code s} has "+" and a digit, "(0", or three digits, a separator and a digit: any
   * phone match starts with the first or second, or holds the third.
   */
  static boolean hasPhoneStart(String s) {
    int digits = 0;
    for (int i = 0; i + 1 < s.length(); i++) {
      char c = s.charAt(i);
      char next = s.charAt(i + 1);
      if ((c == '+' && isDigit(next))
          || (c == '(' && next == '0')
          || (digits >= 3 && (c == '-' || c == '.' || c == ' ') && isDigit(next))) {
        return true;
      }
      digits = isDigit(c) ? digits + 1 : 0;
    }
    return false;
  }

  private static boolean isHex(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  /** The regex {@code \d}: an ASCII digit. */
  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private interface Check {
    boolean test(String match);
  }

  private static String replace(
      Pattern p, String text, String placeholder, int[] count, Check check) {
    Matcher m = p.matcher(text);
    StringBuilder sb = null;
    int last = 0;
    while (m.find()) {
      if (!check.test(m.group())) {
        continue;
      }
      if (sb == null) {
        sb = new StringBuilder(text.length());
      }
      sb.append(text, last, m.start()).append(placeholder);
      last = m.end();
      count[0]++;
    }
    return sb == null ? text : sb.append(text, last, text.length()).toString();
  }

  private static boolean plausiblePhone(String s) {
    long digits = s.chars().filter(Character::isDigit).count();
    return digits >= 8 && digits <= 15;
  }

  /** RFC 4291 text forms: eight groups, or fewer with one "::", optionally ending in IPv4. */
  static boolean isIpv6(String s) {
    int dcolon = s.indexOf("::");
    if (dcolon != s.lastIndexOf("::") || s.contains(":::")) {
      return false;
    }
    String body = s;
    int groupsFromV4 = 0;
    int lastColon = s.lastIndexOf(':');
    if (s.indexOf('.', lastColon) >= 0) {
      if (!IPV4_RE.matcher(s.substring(lastColon + 1)).matches()) {
        return false;
      }
      body = s.substring(0, lastColon + 1) + "0";
      groupsFromV4 = 1;
    }
    if (dcolon < 0) {
      String[] groups = body.split(":", -1);
      return groups.length + groupsFromV4 == 8 && allHex(groups);
    }
    String head = body.substring(0, dcolon);
    String tail = body.substring(dcolon + 2);
    String[] h = head.isEmpty() ? new String[0] : head.split(":", -1);
    String[] t = tail.isEmpty() ? new String[0] : tail.split(":", -1);
    return h.length + t.length + groupsFromV4 <= 7
        && allHex(h)
        && allHex(t)
        && h.length + t.length > 0;
  }

  private static boolean allHex(String[] groups) {
    for (String g : groups) {
      if (g.isEmpty() || g.length() > 4 || !g.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
        return false;
      }
    }
    return true;
  }
}
