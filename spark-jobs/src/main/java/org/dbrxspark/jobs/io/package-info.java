/**
 * Reading and writing documents: JSONL, Parquet, text and Delta input with every unreadable line
 * kept as a reject with its reason, the document columns, and Delta writes, versions and rollback.
 */
package org.dbrxspark.jobs.io;
