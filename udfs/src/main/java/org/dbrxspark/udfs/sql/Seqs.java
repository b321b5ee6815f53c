package org.dbrxspark.udfs.sql;

import java.util.ArrayList;
import java.util.List;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/** The few conversions between Java lists and the Scala sequences Catalyst's API takes. */
final class Seqs {
  private Seqs() {}

  static <T> Seq<T> of(List<T> list) {
    return CollectionConverters.asScala(list).toList();
  }

  static <T> List<T> asJava(Seq<? extends T> seq) {
    return new ArrayList<>(CollectionConverters.asJava(seq));
  }

  /** {@code seq} with {@code last} appended. */
  static <T> Seq<T> plus(Seq<? extends T> seq, T last) {
    List<T> all = asJava(seq);
    all.add(last);
    return of(all);
  }
}
