/**
 * Spark ML transformers over DBRX: {@link org.dbrxspark.udfs.ml.DbrxGenerator}, {@link
 * org.dbrxspark.udfs.ml.DbrxScorer}, {@link org.dbrxspark.udfs.ml.DbrxEmbedder} and {@link
 * org.dbrxspark.udfs.ml.DbrxTokenEncoder}, batched per partition, with ML persistence.
 */
package org.dbrxspark.udfs.ml;
