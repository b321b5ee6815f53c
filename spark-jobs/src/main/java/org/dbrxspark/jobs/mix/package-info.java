/**
 * {@code mix}: sources sampled by weight into a token or document budget, up-sampled documents as
 * numbered copies, and a manifest of what each source gave.
 */
package org.dbrxspark.jobs.mix;
