package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import scala.collection.Seq;

/**
 * {@code dbrx_chat(messages, params_json)}: generation from a conversation, {@code
 * array<struct<role, content>>}, rendered with the DBRX chat template; {@code params_json} may be
 * null. See {@link DbrxFunctions}.
 */
public final class ChatFunction extends ModelFunction<Generation.Input>
    implements UDF2<Seq<Row>, String, Row> {
  private static final long serialVersionUID = 1L;

  /**
   * For {@code spark.udf.registerJavaFunction}: options come from the {@code spark.dbrx.*}
   * settings.
   */
  public ChatFunction() {
    super(null, null);
  }

  ChatFunction(DbrxFunctions.Options options, DbrxMetrics metrics) {
    super(options, metrics);
  }

  @Override
  public Row call(Seq<Row> messages, String paramsJson) {
    return runOne(messages, paramsJson);
  }

  @Override
  StructType resultType() {
    return Generation.RESULT;
  }

  @Override
  String name() {
    return "dbrx_chat";
  }

  @Override
  Generation op() {
    return generation();
  }

  @Override
  @SuppressWarnings("unchecked")
  Generation.Input input(Object[] args) {
    return new Generation.Input(
        null,
        ChatTemplateFunction.conversation((Seq<Row>) args[0]),
        null,
        (String) args[1],
        null,
        null,
        null);
  }
}
