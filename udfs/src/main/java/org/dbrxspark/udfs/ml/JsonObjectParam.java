package org.dbrxspark.udfs.ml;

import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.Identifiable;

/**
 * A Param whose value is the text of a JSON object: it reaches the engine as that object under its
 * {@code params_json} key (see {@link DbrxGenerator#samplingDefaults()}), and is saved as the text.
 */
final class JsonObjectParam extends Param<String> {
  private static final long serialVersionUID = 1L;

  JsonObjectParam(Identifiable parent, String name, String doc) {
    super(parent, name, doc);
  }
}
