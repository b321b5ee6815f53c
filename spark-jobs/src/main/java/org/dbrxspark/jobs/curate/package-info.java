/**
 * {@code curate}: normalisation, PII redaction, the C4 line rules, language identification and the
 * Gopher, C4 and FineWeb quality filters, with each rejected document's reasons and signals.
 */
package org.dbrxspark.jobs.curate;
