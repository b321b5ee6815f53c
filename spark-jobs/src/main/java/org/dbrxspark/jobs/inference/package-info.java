/**
 * The options of the jobs that run the model (generate, score), mapped one to one onto the udfs
 * transformers' params.
 */
package org.dbrxspark.jobs.inference;
