package org.dbrxspark.runtime.engine;

/**
 * An L2-normalised embedding of size d_model, or the reason there is none.
 *
 * @param vector the embedding, empty on error
 * @param tokenCount tokens embedded
 * @param error why the text could not be embedded, or {@code null}
 */
public record EmbeddingResult(float[] vector, int tokenCount, String error) {
  static EmbeddingResult failed(String error) {
    return new EmbeddingResult(new float[0], 0, error);
  }
}
