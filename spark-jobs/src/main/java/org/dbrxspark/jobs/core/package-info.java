/**
 * What every job shares: the {@link org.dbrxspark.jobs.core.Job} interface, the end-of-run summary
 * with its reconciled counts and its JSON stats (written for every run by {@link
 * org.dbrxspark.jobs.core.JobRun}), the tables a run commits as a unit ({@link
 * org.dbrxspark.jobs.core.RunTables}), the rejects table and its reasons, progress reporting, and
 * the Spark session and partitioning helpers.
 */
package org.dbrxspark.jobs.core;
