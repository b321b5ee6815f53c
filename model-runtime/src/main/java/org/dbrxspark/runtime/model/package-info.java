/**
 * The DBRX forward pass ({@link org.dbrxspark.runtime.model.DbrxModel}), written once against the
 * backend seam, and the paged KV cache's bookkeeping: the block pool and each sequence's block
 * table.
 */
package org.dbrxspark.runtime.model;
