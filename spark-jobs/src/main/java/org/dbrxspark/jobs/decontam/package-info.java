/**
 * {@code decontaminate}: removes documents that share word n-grams with benchmark items, so that a
 * model is not trained on the test sets it will be scored on.
 */
package org.dbrxspark.jobs.decontam;
