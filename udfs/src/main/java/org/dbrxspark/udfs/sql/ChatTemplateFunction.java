package org.dbrxspark.udfs.sql;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.udfs.inference.Generation;
import scala.collection.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * {@code dbrx_chat_template(messages)}: the ChatML prompt string {@code dbrx_chat} would run for
 * {@code array<struct<role, content>>}, ending with the generation prompt. Null for null input; a
 * malformed conversation (a null message, role or content; no message) fails the query.
 */
public final class ChatTemplateFunction implements UDF1<Seq<Row>, String> {
  private static final long serialVersionUID = 1L;

  /** Whether {@link #systemPrompt} was given (null is meaningful: DBRX's own prompt). */
  private final boolean given;

  private final String systemPrompt;

  /**
   * For {@code spark.udf.registerJavaFunction}: the system prompt comes from the Spark settings.
   */
  public ChatTemplateFunction() {
    this.given = false;
    this.systemPrompt = null;
  }

  ChatTemplateFunction(String systemPrompt) {
    this.given = true;
    this.systemPrompt = systemPrompt;
  }

  @Override
  public String call(Seq<Row> messages) {
    List<ChatMessage> conversation = conversation(messages);
    if (conversation == null) {
      return null;
    }
    String prompt =
        given ? systemPrompt : DbrxFunctions.setting(DbrxFunctions.SYSTEM_PROMPT).orElse(null);
    return Generation.template(prompt).render(conversation, true);
  }

  /** The conversation of an {@code array<struct<role, content>>} value; null for null. */
  static List<ChatMessage> conversation(Seq<Row> messages) {
    if (messages == null) {
      return null;
    }
    List<Row> rows = CollectionConverters.asJava(messages);
    Row first = rows.stream().filter(r -> r != null).findFirst().orElse(null);
    if (first == null) {
      return Generation.messages(rows, 0, 0); // empty, or only nulls: the latter fails clearly
    }
    return Generation.messages(rows, first.fieldIndex("role"), first.fieldIndex("content"));
  }
}
