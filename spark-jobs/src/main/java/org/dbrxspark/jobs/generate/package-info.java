/**
 * {@code generate}: batch generation over a table with the udfs generator, committed in chunks so
 * that a failed or stopped run resumes where it stopped, with identical output.
 */
package org.dbrxspark.jobs.generate;
