package org.dbrxspark.jobs.curate;

import java.util.Collections;
import java.util.StringJoiner;

/** Crafted documents: one that passes every default filter, and helpers to break it. */
final class Texts {
  static final String GOOD =
      """
        The history of the river valley begins with the small farming villages that appeared along its \
        banks thousands of years ago. Early settlers learned to read the seasonal floods and planted their \
        crops when the water retreated.

        Over the centuries, trade routes connected these villages with distant markets. Merchants carried \
        grain, pottery and woven cloth to the coast, and they returned with salt, metal tools and new ideas \
        about building.

        Today the valley is home to a busy university town. Students and researchers study the old \
        irrigation channels, and volunteers help to restore the stone bridges that still cross the river. \
        Visitors often remark that the landscape feels both ancient and alive.""";

  static final String GERMAN =
      """
        Die Geschichte des Flusstals beginnt mit den kleinen Bauerndörfern, die vor Tausenden von Jahren an \
        seinen Ufern entstanden. Die ersten Siedler lernten, die jahreszeitlichen Hochwasser zu deuten, und \
        pflanzten ihre Feldfrüchte, wenn das Wasser zurückging.

        Im Laufe der Jahrhunderte verbanden Handelswege diese Dörfer mit fernen Märkten. Kaufleute brachten \
        Getreide, Töpferwaren und gewebte Stoffe an die Küste und kehrten mit Salz, Werkzeugen aus Metall und \
        neuen Ideen über das Bauen zurück.

        Heute ist das Tal die Heimat einer lebhaften Universitätsstadt. Studierende erforschen die alten \
        Bewässerungskanäle, und Freiwillige helfen, die steinernen Brücken zu erhalten, die den Fluss noch \
        immer überqueren. Besucher sagen oft, die Landschaft wirke zugleich uralt und lebendig.""";

  private Texts() {}

  static String repeat(String s, int n, String sep) {
    return String.join(sep, Collections.nCopies(n, s));
  }

  /** {@code n} numbered sentences, each distinct: prose without repeated lines or n-grams. */
  static String sentences(int n, String sep) {
    StringJoiner j = new StringJoiner(sep);
    String[] nouns = {
      "farmer", "merchant", "student", "teacher", "sailor", "painter", "doctor", "baker"
    };
    String[] verbs = {
      "visited", "studied", "painted", "described", "measured", "restored", "crossed", "mapped"
    };
    String[] things = {
      "bridge", "harbour", "garden", "tower", "market", "library", "orchard", "chapel"
    };
    for (int i = 0; i < n; i++) {
      j.add(
          "The "
              + nouns[i % 8]
              + " "
              + verbs[(i / 8) % 8]
              + " the "
              + things[(i / 64 + i) % 8]
              + " near the "
              + number(i)
              + " road.");
    }
    return j.toString();
  }

  private static String number(int i) {
    String[] w = {
      "first",
      "second",
      "third",
      "fourth",
      "fifth",
      "sixth",
      "seventh",
      "eighth",
      "ninth",
      "tenth",
      "eleventh",
      "twelfth"
    };
    return w[i % 12] + (i >= 12 ? " " + w[(i / 12) % 12] : "");
  }
}
