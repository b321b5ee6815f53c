/**
 * {@code tokenize}: DBRX token ids per document, train and validation splits by a seeded hash, and
 * packing into fixed-length training sequences with document boundaries.
 */
package org.dbrxspark.jobs.tokenize;
